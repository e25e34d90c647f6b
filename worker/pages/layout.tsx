/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
// The HTML every dashboard page starts as: the frame (header, navigation), the
// page's name and parameters for the browser code (web/main.tsx), and the one
// stylesheet and script, both served as static assets from dist/web/.
import type { PageName } from "./pageNames.ts";

export interface Shell {
  page: PageName;
  title: string;
  /** Parameters the browser code reads from <body data-…>, e.g. the job id. */
  params?: { jobId?: string; address?: string };
  /** What the server already knows to say (a page that cannot exist). */
  message?: string;
}

const nav: Array<{ href: string; label: string; pages: PageName[] }> = [
  { href: "/", label: "Network", pages: ["network", "provider"] },
  { href: "/jobs", label: "Jobs", pages: ["jobs", "job"] },
  { href: "/webhooks", label: "Webhooks", pages: ["webhooks"] },
  { href: "/docs", label: "API", pages: [] },
];

export function Layout(props: Shell) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Pond`}</title>
        {/* No favicon request (and no 404 for one). */}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/dashboard.css" />
        <script type="module" src="/assets/dashboard.js" />
      </head>
      <body data-page={props.page} data-job-id={props.params?.jobId} data-address={props.params?.address}>
        <header class="top">
          <a class="brand" href="/">Pond</a>
          <nav class="nav" aria-label="Dashboard">
            {nav.map((item) => (
              <a href={item.href} aria-current={item.pages.includes(props.page) ? "page" : undefined}>{item.label}</a>
            ))}
          </nav>
          <div id="session" />
        </header>
        <main>
          <h1>{props.title}</h1>
          <div id="app">
            {props.message ? <p class="notice">{props.message}</p> : <p class="muted">Loading…</p>}
            <noscript>
              <p>The dashboard needs JavaScript. The same figures are in the API: <a href="/docs">/docs</a>.</p>
            </noscript>
          </div>
        </main>
      </body>
    </html>
  );
}

// The dashboard's browser entry. The Worker serves each page as a small shell
// (worker/pages/) naming the page and its parameters in <body data-…>; this
// renders that page into it, and the session bar into the header.
import { render } from "hono/jsx/dom";
import "./styles.css";
import { SessionBar } from "./components/SessionBar.tsx";
import { JobPage } from "./pages/JobPage.tsx";
import { JobsPage } from "./pages/JobsPage.tsx";
import { NetworkPage } from "./pages/NetworkPage.tsx";
import { ProviderPage } from "./pages/ProviderPage.tsx";
import { SignInPage } from "./pages/SignInPage.tsx";
import { WebhooksPage } from "./pages/WebhooksPage.tsx";

function pageFor(data: DOMStringMap) {
  switch (data.page) {
    case "network":
      return <NetworkPage />;
    case "provider":
      return <ProviderPage address={data.address ?? ""} />;
    case "jobs":
      return <JobsPage />;
    case "job":
      return <JobPage jobId={data.jobId ?? ""} />;
    case "webhooks":
      return <WebhooksPage />;
    case "sign-in":
      return <SignInPage />;
    default:
      return undefined;
  }
}

const app = document.getElementById("app");
const page = pageFor(document.body.dataset);
if (app && page) render(page, app);
const session = document.getElementById("session");
if (session) render(<SessionBar />, session);

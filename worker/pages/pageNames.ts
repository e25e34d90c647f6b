/** The dashboard's pages: the Worker names one in each shell, the browser code renders it. */
export type PageName = "network" | "provider" | "jobs" | "job" | "webhooks" | "sign-in" | "not-found";

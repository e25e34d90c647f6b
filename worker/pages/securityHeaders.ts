// Headers every dashboard page carries. The policy allows only this origin's
// own script, stylesheet and API: no inline script or style, no event handler
// attributes, no framing, nothing fetched from elsewhere.
import { secureHeaders } from "hono/secure-headers";

export const pageSecurity = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  referrerPolicy: "same-origin",
  crossOriginResourcePolicy: "same-origin",
});

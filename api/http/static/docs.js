// Starts Swagger UI on the API docs page. It lives in a file, not inline, so the
// page's Content-Security-Policy can forbid inline script.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null, // the default asks a public validator; stations are often offline
  presets: [SwaggerUIBundle.presets.apis],
});

// Starts Swagger UI on /docs/explorer. A file, not an inline script, so the page's CSP allows no
// inline script at all.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});

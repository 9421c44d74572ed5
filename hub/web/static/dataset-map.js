// The dataset page's map: MapLibre GL JS (served by the hub) drawing the version's own
// vector tiles on a plain background (no base map, nothing from another host). Each source
// is the layer's TileJSON, so the tile URL and zoom range come from the hub. The page
// works without it: the table below lists the same records.
const container = document.getElementById("map");
const maplibregl = window.maplibregl;

function layersFor(source) {
  // One style layer per geometry kind, so a GTFS feed shows routes as lines, stops as dots.
  const common = { source: source.id, "source-layer": source.source_layer };
  return [
    { ...common, id: `${source.id}-fill`, type: "fill",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#0b5394", "fill-opacity": 0.25, "fill-outline-color": "#0b5394" } },
    { ...common, id: `${source.id}-line`, type: "line",
      filter: ["in", ["geometry-type"], ["literal", ["LineString", "Polygon"]]],
      paint: { "line-color": "#b35900", "line-width": 2.5 } },
    { ...common, id: `${source.id}-circle`, type: "circle",
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-color": "#0b5394", "circle-radius": 4,
               "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 } },
  ];
}

if (container && maplibregl) {
  const config = JSON.parse(container.dataset.map);
  const origin = window.location.origin;
  const style = {
    version: 8,
    sources: Object.fromEntries(config.layers.map((layer) => [layer.id, {
      type: "vector", url: origin + layer.tilejson,
    }])),
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#e8edf2" } },
      ...config.layers.flatMap(layersFor),
    ],
  };
  const options = { container, style, attributionControl: false };
  if (config.bounds) {
    options.bounds = [[config.bounds[0], config.bounds[1]], [config.bounds[2], config.bounds[3]]];
    options.fitBoundsOptions = { padding: 24, maxZoom: 16 };
  }
  const map = new maplibregl.Map(options);
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.on("click", (event) => {
    const [feature] = map.queryRenderedFeatures(event.point);
    if (!feature) return;
    const rows = Object.entries(feature.properties)
      .map(([key, value]) => `<tr><th scope="row">${escapeHtml(key)}</th><td>${escapeHtml(String(value))}</td></tr>`)
      .join("");
    new maplibregl.Popup().setLngLat(event.lngLat).setHTML(`<table>${rows}</table>`).addTo(map);
  });
  // Tests and the bench read the map through its own API (queryRenderedFeatures).
  window.hubMap = map;
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// The dataset page's map: MapLibre GL JS (served by the hub) drawing the version's own
// vector tiles on a plain background (no base map, nothing from another host). Each source
// is the layer's TileJSON, so the tile URL and zoom range come from the hub. The page
// works without it: the table below lists the same records.
import { BACKGROUND, fittedTo, tileSources } from "./hub-map.js";

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
  const style = {
    version: 8,
    sources: tileSources(config.layers),
    layers: [BACKGROUND, ...config.layers.flatMap(layersFor)],
  };
  const map = new maplibregl.Map(
    fittedTo(config.bounds, { container, style, attributionControl: false }));
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

// The headline question's map: the line and its stations, and each dataset's answer, each
// drawn from the very /v1 URL the page prints beside its count (as GeoJSON), on a plain
// background (nothing from another host). The tables are the same answer without the map.
const container = document.getElementById("flagship-map");
const maplibregl = window.maplibregl;
// The swatches of the legend (portal.css .swatch-1, .swatch-2) use the same colours.
const ANSWER_COLOURS = ["#b30059", "#0b6e4f", "#6a3d9a"];
const LINE_COLOUR = "#1a1a1a";

async function geojson(url) {
  const response = await fetch(url, { headers: { Accept: "application/geo+json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function extend(bounds, feature) {
  const visit = (c) => (typeof c[0] === "number" ? bounds.extend(c) : c.forEach(visit));
  if (feature.geometry) visit(feature.geometry.coordinates);
}

if (container && maplibregl) {
  const config = JSON.parse(container.dataset.flagship);
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources: {},
             layers: [{ id: "background", type: "background", paint: { "background-color": "#e8edf2" } }] },
    center: [135.15, 34.7], zoom: 10, attributionControl: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  window.hubFlagshipMap = map;
  map.on("load", async () => {
    const [line, stations, ...answers] = await Promise.all(
      [config.line, config.stations, ...config.layers.map((layer) => layer.url)].map(geojson));
    const bounds = new maplibregl.LngLatBounds();
    stations.features.forEach((f) => extend(bounds, f));
    map.addSource("line", { type: "geojson", data: line });
    map.addLayer({ id: "line", type: "line", source: "line",
                   paint: { "line-color": LINE_COLOUR, "line-width": 3 } });
    config.layers.forEach((layer, i) => {
      answers[i].features.forEach((f) => extend(bounds, f));
      map.addSource(layer.id, { type: "geojson", data: answers[i] });
      map.addLayer({ id: layer.id, type: "circle", source: layer.id,
                     paint: { "circle-color": ANSWER_COLOURS[i % ANSWER_COLOURS.length],
                              "circle-radius": 5, "circle-stroke-color": "#ffffff",
                              "circle-stroke-width": 1 } });
    });
    map.addSource("stations", { type: "geojson", data: stations });
    map.addLayer({ id: "stations", type: "circle", source: "stations",
                   paint: { "circle-color": "#ffffff", "circle-radius": 6,
                            "circle-stroke-color": LINE_COLOUR, "circle-stroke-width": 2.5 } });
    if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 24, maxZoom: 15, duration: 0 });
    map.on("click", (event) => {
      const [feature] = map.queryRenderedFeatures(event.point, { layers: ["stations", ...config.layers.map((l) => l.id)] });
      if (!feature) return;
      const name = feature.properties.name || feature.properties.stop_name || "";
      const distance = feature.properties.distance_m;
      const text = distance === undefined ? name : `${name} (${distance} m)`;
      new maplibregl.Popup().setLngLat(event.lngLat).setText(text).addTo(map);
    });
    container.dataset.loaded = "true";
  });
}

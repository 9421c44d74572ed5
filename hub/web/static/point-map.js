// The moderation queue's maps: each proposed point (orange, outlined) among the dataset's
// current records drawn from the hub's own vector tiles (the dataset page's pattern, no base
// map, nothing from another host). The text beside each map gives the coordinates.
import { BACKGROUND, tileSources } from "./hub-map.js";

const maplibregl = window.maplibregl;
const maps = {};

function contextLayers(source) {
  const common = { source: source.id, "source-layer": source.source_layer };
  return [
    { ...common, id: `${source.id}-line`, type: "line",
      filter: ["in", ["geometry-type"], ["literal", ["LineString", "Polygon"]]],
      paint: { "line-color": "#4a4a4a", "line-width": 1.5 } },
    { ...common, id: `${source.id}-circle`, type: "circle",
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-color": "#0b5394", "circle-radius": 3.5,
               "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 } },
  ];
}

for (const container of document.querySelectorAll(".point-map")) {
  if (!maplibregl) break;
  const config = JSON.parse(container.dataset.map);
  const sources = tileSources(config.layers);
  sources.proposed = {
    type: "geojson",
    data: { type: "Feature", geometry: { type: "Point", coordinates: config.point },
            properties: { contribution: container.dataset.contribution } },
  };
  const style = {
    version: 8,
    sources,
    layers: [
      BACKGROUND,
      ...config.layers.flatMap(contextLayers),
      { id: "proposed", type: "circle", source: "proposed",
        paint: { "circle-color": "#b35900", "circle-radius": 8,
                 "circle-stroke-color": "#1a1a1a", "circle-stroke-width": 2 } },
    ],
  };
  const map = new maplibregl.Map({ container, style, center: config.point, zoom: 16,
                                   attributionControl: false });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  // Tests read each map through its own API (queryRenderedFeatures), keyed by contribution.
  maps[container.dataset.contribution] = map;
}
window.hubPointMaps = maps;

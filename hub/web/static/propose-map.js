// Propose a record: click (or tap) the map to place the point; the latitude and longitude
// inputs are the form's real fields (typing them works without the map, and moves the
// marker). The map draws the dataset's current version from the hub's tiles, so a
// contributor sees the records already there.
import { BACKGROUND, fittedTo, tileSources } from "./hub-map.js";

const container = document.getElementById("propose-map");
const maplibregl = window.maplibregl;
const lat = document.getElementById("f-lat");
const lon = document.getElementById("f-lon");

if (container && maplibregl && lat && lon) {
  const config = JSON.parse(container.dataset.map);
  const style = {
    version: 8,
    sources: tileSources(config.layers),
    layers: [
      BACKGROUND,
      ...config.layers.map((layer) => ({
        id: `${layer.id}-circle`, type: "circle", source: layer.id,
        "source-layer": layer.source_layer, filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-color": "#0b5394", "circle-radius": 4,
                 "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 },
      })),
    ],
  };
  const map = new maplibregl.Map(
    fittedTo(config.bounds, { container, style, attributionControl: false }));
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  const marker = new maplibregl.Marker({ color: "#b30059", draggable: true });

  const fill = (lngLat) => {
    lat.value = lngLat.lat.toFixed(6);
    lon.value = lngLat.lng.toFixed(6);
  };
  const place = (lngLat) => {
    marker.setLngLat(lngLat).addTo(map);
    fill(lngLat);
  };
  map.on("click", (event) => place(event.lngLat));
  marker.on("dragend", () => fill(marker.getLngLat()));
  const fromInputs = () => {
    const y = Number.parseFloat(lat.value);
    const x = Number.parseFloat(lon.value);
    if (Number.isFinite(x) && Number.isFinite(y) && Math.abs(y) <= 90 && Math.abs(x) <= 180) {
      marker.setLngLat([x, y]).addTo(map);
    }
  };
  lat.addEventListener("change", fromInputs);
  lon.addEventListener("change", fromInputs);
  map.on("load", fromInputs);
  // Tests read the map through its own API, as on the dataset page.
  window.hubProposeMap = map;
}

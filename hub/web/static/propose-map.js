// Propose a record: click (or tap) the map to place the point; the latitude and longitude
// inputs are the form's real fields (typing them works without the map, and moves the
// marker). The map draws the dataset's current version from the hub's tiles, so a
// contributor sees the records already there.
const container = document.getElementById("propose-map");
const maplibregl = window.maplibregl;
const lat = document.getElementById("f-lat");
const lon = document.getElementById("f-lon");

if (container && maplibregl && lat && lon) {
  const config = JSON.parse(container.dataset.map);
  const origin = window.location.origin;
  const style = {
    version: 8,
    sources: Object.fromEntries(config.layers.map((layer) => [layer.id, {
      type: "vector", url: origin + layer.tilejson,
    }])),
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#e8edf2" } },
      ...config.layers.map((layer) => ({
        id: `${layer.id}-circle`, type: "circle", source: layer.id,
        "source-layer": layer.source_layer, filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-color": "#0b5394", "circle-radius": 4,
                 "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 },
      })),
    ],
  };
  const options = { container, style, attributionControl: false };
  if (config.bounds) {
    options.bounds = [[config.bounds[0], config.bounds[1]], [config.bounds[2], config.bounds[3]]];
    options.fitBoundsOptions = { padding: 24, maxZoom: 16 };
  }
  const map = new maplibregl.Map(options);
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

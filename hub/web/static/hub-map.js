// What every portal map shares: each layer of a version as a vector source read from its
// TileJSON on this hub (tile URL, zooms and bounds come from the hub; nothing from another
// host), a plain background instead of a base map, and fitting the view to the layers' box.
// The dataset page, the propose form and the moderation queue import it, so a change to how
// the hub's tiles are found is made once.

export const BACKGROUND = {
  id: "background", type: "background", paint: { "background-color": "#e8edf2" },
};

export function tileSources(layers) {
  const origin = window.location.origin;
  return Object.fromEntries(layers.map((layer) => [layer.id, {
    type: "vector", url: origin + layer.tilejson,
  }]));
}

export function fittedTo(bounds, options) {
  if (!bounds) return options;
  return { ...options, bounds: [[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
           fitBoundsOptions: { padding: 24, maxZoom: 16 } };
}

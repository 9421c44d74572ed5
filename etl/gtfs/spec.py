"""What the hub knows about GTFS and GTFS-JP files: columns, their kinds, which are required.

``kind`` says how a column's text is read: ``id`` and ``text`` stay text (ids are never cast to
numbers: ``0001`` and ``1`` are different stops), ``int``, ``float``, ``date`` (``YYYYMMDD``)
and ``time`` (``H:MM:SS``, hours may pass 24). ``critical`` columns make the feed unusable
when a value cannot be read (an error); elsewhere an unreadable value is dropped with a
warning.

Sources: GTFS Schedule reference (gtfs.org/documentation/schedule/reference, 2025) and
GTFS-JP (標準的なバス情報フォーマット 第3版, 国土交通省).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: dict[str, str]  # column -> kind
    required_columns: tuple[str, ...] = ()
    critical: frozenset[str] = field(default_factory=frozenset)
    key: tuple[str, ...] = ()  # unique per row


def _spec(name: str, columns: str, required: str = "", critical: str = "", key: str = "",
          kinds: dict[str, str] | None = None) -> FileSpec:
    cols = {c: "text" for c in columns.split()}
    cols.update(kinds or {})
    return FileSpec(name, cols, tuple(required.split()), frozenset(critical.split()),
                    tuple(key.split()))


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

SPECS: dict[str, FileSpec] = {s.name: s for s in (
    _spec("agency.txt",
          "agency_id agency_name agency_url agency_timezone agency_lang agency_phone "
          "agency_fare_url agency_email",
          required="agency_name agency_url agency_timezone", key="agency_id",
          kinds={"agency_id": "id"}),
    _spec("agency_jp.txt",
          "agency_id agency_official_name agency_zip_number agency_address "
          "agency_president_pos agency_president_name",
          required="agency_id", kinds={"agency_id": "id"}),
    _spec("stops.txt",
          "stop_id stop_code stop_name tts_stop_name stop_desc stop_lat stop_lon zone_id "
          "stop_url location_type parent_station stop_timezone wheelchair_boarding level_id "
          "platform_code",
          required="stop_id stop_name stop_lat stop_lon", key="stop_id",
          critical="stop_lat stop_lon location_type",
          kinds={"stop_id": "id", "parent_station": "id", "zone_id": "id", "level_id": "id",
                 "stop_lat": "float", "stop_lon": "float", "location_type": "int",
                 "wheelchair_boarding": "int"}),
    _spec("routes.txt",
          "route_id agency_id route_short_name route_long_name route_desc route_type route_url "
          "route_color route_text_color route_sort_order continuous_pickup continuous_drop_off "
          "network_id jp_parent_route_id",
          required="route_id route_type", key="route_id", critical="route_type",
          kinds={"route_id": "id", "agency_id": "id", "route_type": "int",
                 "route_sort_order": "int", "continuous_pickup": "int",
                 "continuous_drop_off": "int", "jp_parent_route_id": "id"}),
    _spec("routes_jp.txt",
          "route_id route_update_date origin_stop via_stop destination_stop",
          required="route_id", key="route_id",
          kinds={"route_id": "id", "route_update_date": "date"}),
    _spec("trips.txt",
          "route_id service_id trip_id trip_headsign trip_short_name direction_id block_id "
          "shape_id wheelchair_accessible bikes_allowed jp_trip_desc jp_trip_desc_symbol "
          "jp_office_id jp_pattern_id",
          required="route_id service_id trip_id", key="trip_id",
          kinds={"route_id": "id", "service_id": "id", "trip_id": "id", "block_id": "id",
                 "shape_id": "id", "direction_id": "int", "wheelchair_accessible": "int",
                 "bikes_allowed": "int", "jp_office_id": "id", "jp_pattern_id": "id"}),
    _spec("office_jp.txt", "office_id office_name office_url office_phone",
          required="office_id", key="office_id", kinds={"office_id": "id"}),
    _spec("stop_times.txt",
          "trip_id arrival_time departure_time stop_id stop_sequence stop_headsign pickup_type "
          "drop_off_type continuous_pickup continuous_drop_off shape_dist_traveled timepoint",
          required="trip_id stop_id stop_sequence", key="trip_id stop_sequence",
          critical="stop_sequence arrival_time departure_time",
          kinds={"trip_id": "id", "stop_id": "id", "arrival_time": "time",
                 "departure_time": "time", "stop_sequence": "int", "pickup_type": "int",
                 "drop_off_type": "int", "continuous_pickup": "int",
                 "continuous_drop_off": "int", "shape_dist_traveled": "float",
                 "timepoint": "int"}),
    _spec("calendar.txt", "service_id " + " ".join(WEEKDAYS) + " start_date end_date",
          required="service_id " + " ".join(WEEKDAYS) + " start_date end_date",
          key="service_id", critical=" ".join(WEEKDAYS) + " start_date end_date",
          kinds={"service_id": "id", **{d: "int" for d in WEEKDAYS},
                 "start_date": "date", "end_date": "date"}),
    _spec("calendar_dates.txt", "service_id date exception_type",
          required="service_id date exception_type", key="service_id date",
          critical="date exception_type",
          kinds={"service_id": "id", "date": "date", "exception_type": "int"}),
    _spec("shapes.txt",
          "shape_id shape_pt_lat shape_pt_lon shape_pt_sequence shape_dist_traveled",
          required="shape_id shape_pt_lat shape_pt_lon shape_pt_sequence",
          key="shape_id shape_pt_sequence",
          critical="shape_pt_lat shape_pt_lon shape_pt_sequence",
          kinds={"shape_id": "id", "shape_pt_lat": "float", "shape_pt_lon": "float",
                 "shape_pt_sequence": "int", "shape_dist_traveled": "float"}),
    _spec("frequencies.txt", "trip_id start_time end_time headway_secs exact_times",
          required="trip_id start_time end_time headway_secs",
          kinds={"trip_id": "id", "start_time": "time", "end_time": "time",
                 "headway_secs": "int", "exact_times": "int"}),
    # Two layouts share the name; see etl.gtfs.translations.
    _spec("translations.txt",
          "table_name field_name language translation record_id record_sub_id field_value "
          "trans_id lang"),
    _spec("feed_info.txt",
          "feed_publisher_name feed_publisher_url feed_lang default_lang feed_start_date "
          "feed_end_date feed_version feed_contact_email feed_contact_url",
          kinds={"feed_start_date": "date", "feed_end_date": "date"}),
)}

# Files a feed must have. calendar.txt / calendar_dates.txt: at least one of the two.
REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
CALENDAR_FILES = ("calendar.txt", "calendar_dates.txt")
IMPORTED_FILES = frozenset(SPECS) - {"frequencies.txt", "feed_info.txt"}

# Files of GTFS Schedule and GTFS-JP that the hub reads past (fares, transfers, pathways ...).
STANDARD_NOT_IMPORTED = frozenset({
    "fare_attributes.txt", "fare_rules.txt", "timeframes.txt", "rider_categories.txt",
    "fare_media.txt", "fare_products.txt", "fare_leg_rules.txt", "fare_leg_join_rules.txt",
    "fare_transfer_rules.txt", "areas.txt", "stop_areas.txt", "networks.txt",
    "route_networks.txt", "frequencies.txt", "transfers.txt", "pathways.txt", "levels.txt",
    "location_groups.txt", "location_group_stops.txt", "locations.geojson",
    "booking_rules.txt", "feed_info.txt", "attributions.txt", "pattern_jp.txt",
})

# Header spellings seen in real feeds -> the spec's column (MLIT's own GTFS-JP sample has
# the first two). Other near misses are found by similarity; see etl.gtfs.tables.
HEADER_ALIASES = {
    "shape_dist_travel": "shape_dist_traveled",
    "shape_dist_travelled": "shape_dist_traveled",
    "wheelchair_accesible": "wheelchair_accessible",
    "wheelchair_accessibility": "wheelchair_accessible",
    "wheelchair_boading": "wheelchair_boarding",
}

ROUTE_TYPES = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 11, 12})  # plus the extended 100..1799

# Allowed values of coded integer columns (any file). Outside them: an error when the column
# is critical for the file, else a warning and the value is dropped.
ALLOWED = {
    "location_type": frozenset(range(5)),
    "wheelchair_boarding": frozenset(range(3)),
    "wheelchair_accessible": frozenset(range(3)),
    "bikes_allowed": frozenset(range(3)),
    "direction_id": frozenset({0, 1}),
    "pickup_type": frozenset(range(4)),
    "drop_off_type": frozenset(range(4)),
    "continuous_pickup": frozenset(range(4)),
    "continuous_drop_off": frozenset(range(4)),
    "timepoint": frozenset({0, 1}),
    "exception_type": frozenset({1, 2}),
    **{day: frozenset({0, 1}) for day in WEEKDAYS},
}

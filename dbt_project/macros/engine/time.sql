{#- Instants and calendar arithmetic. -#}

{#- The instant `seconds` after the Unix epoch. -#}
{% macro epoch_seconds_to_instant(seconds) -%}
    {{ return(adapter.dispatch('epoch_seconds_to_instant', 'synergy')(seconds)) }}
{%- endmacro %}
{% macro default__epoch_seconds_to_instant(seconds) -%} to_timestamp({{ seconds }}) {%- endmacro %}
{% macro spark__epoch_seconds_to_instant(seconds) -%} timestamp_seconds({{ seconds }}) {%- endmacro %}

{#- An interval of `days` days, to add to or subtract from an instant. -#}
{% macro days_interval(days) -%}
    {{ return(adapter.dispatch('days_interval', 'synergy')(days)) }}
{%- endmacro %}
{% macro default__days_interval(days) -%} to_days({{ days }}) {%- endmacro %}
{% macro spark__days_interval(days) -%} make_dt_interval({{ days }}) {%- endmacro %}

{#- Whole days from the date of `start` to the date of `end`, a bigint as DuckDB's date_diff gives. -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'synergy')(start, end)) }}
{%- endmacro %}
{% macro default__days_between(start, end) -%} date_diff('day', {{ start }}, {{ end }}) {%- endmacro %}
{% macro spark__days_between(start, end) -%} cast(datediff({{ end }}, {{ start }}) as bigint) {%- endmacro %}

{#- Seconds (with fractions, a double) from instant `start` to instant `end`. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'synergy')(start, end)) }}
{%- endmacro %}
{% macro default__seconds_between(start, end) -%} epoch({{ end }} - {{ start }}) {%- endmacro %}
{% macro spark__seconds_between(start, end) -%} ((unix_micros({{ end }}) - unix_micros({{ start }})) / 1e6) {%- endmacro %}

{#- The wall-clock time of an instant in a time zone (a timestamp without zone). On Spark the result is
    a timestamp whose UTC reading is that wall-clock time: the session time zone is UTC. -#}
{% macro local_timestamp(instant, timezone) -%}
    {{ return(adapter.dispatch('local_timestamp', 'synergy')(instant, timezone)) }}
{%- endmacro %}
{% macro default__local_timestamp(instant, timezone) -%} timezone({{ timezone }}, {{ instant }}) {%- endmacro %}
{% macro spark__local_timestamp(instant, timezone) -%} from_utc_timestamp({{ instant }}, {{ timezone }}) {%- endmacro %}

{#- An interval of `hours` hours, to add to or subtract from an instant. -#}
{% macro hours_interval(hours) -%}
    {{ return(adapter.dispatch('hours_interval', 'synergy')(hours)) }}
{%- endmacro %}
{% macro default__hours_interval(hours) -%} to_hours({{ hours }}) {%- endmacro %}
{% macro spark__hours_interval(hours) -%} make_dt_interval(0, {{ hours }}) {%- endmacro %}

{#- One row per day from date `start` to date `stop`, both included: a table function for a FROM clause
    (`cross join lateral {{ days_from_to(a, b) }} as s(day)`). DuckDB's rows are timestamps, Spark's dates. -#}
{% macro days_from_to(start, stop) -%}
    {{ return(adapter.dispatch('days_from_to', 'synergy')(start, stop)) }}
{%- endmacro %}
{% macro default__days_from_to(start, stop) -%} generate_series({{ start }}, {{ stop }}, interval 1 day) {%- endmacro %}
{% macro spark__days_from_to(start, stop) -%} explode(sequence({{ start }}, {{ stop }}, interval 1 day)) {%- endmacro %}

{#- The start of a range frame over dates holding the `days` days that end on the current row's day
    (`range between {{ days_window_start(7) }} and current row`). Spark's frame takes a literal interval, so
    `days` is a number here, not SQL. -#}
{% macro days_window_start(days) -%}
    {{ return(adapter.dispatch('days_window_start', 'synergy')(days)) }}
{%- endmacro %}
{% macro default__days_window_start(days) -%} interval ({{ days }} - 1) days preceding {%- endmacro %}
{% macro spark__days_window_start(days) -%} interval {{ days | int - 1 }} days preceding {%- endmacro %}

{#- Whole seconds from the Unix epoch to an instant (rounded), a bigint. -#}
{% macro epoch_seconds(instant) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'synergy')(instant)) }}
{%- endmacro %}
{% macro default__epoch_seconds(instant) -%} epoch({{ instant }})::bigint {%- endmacro %}
{% macro spark__epoch_seconds(instant) -%} cast(round(unix_micros({{ instant }}) / 1e6) as bigint) {%- endmacro %}

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

{#- Text functions whose names or pattern syntax differ. -#}

{#- Whether the whole of `value` matches the regular expression; flags 'i' ignores case. -#}
{% macro full_match(value, pattern, flags='') -%}
    {{ return(adapter.dispatch('full_match', 'synergy')(value, pattern, flags)) }}
{%- endmacro %}
{% macro default__full_match(value, pattern, flags) -%}
    regexp_full_match({{ value }}, {{ pattern }}{% if flags %}, '{{ flags }}'{% endif %})
{%- endmacro %}
{% macro spark__full_match(value, pattern, flags) -%}
    ({{ value }} rlike concat('{% if flags %}(?{{ flags }}){% endif %}^(?:', {{ pattern }}, ')$'))
{%- endmacro %}

{#- full_match against a pattern column, with the patterns `known` when the model compiles matched as literals:
    each literal is compiled once, where a pattern read from a column is compiled again for every row
    (20 s for two patterns against 6M identifiers, against 0.3 s). Any other pattern is still matched, from
    the column, so the result never depends on what was known. Both engines read a backslash in a literal as
    itself (the Spark profile's escapedStringLiterals), so a pattern is its literal in quotes; one holding a
    quote stays with the column rather than be escaped differently per engine. -#}
{% macro full_match_column(value, pattern, known, flags='') -%}
    {%- set literals = [] -%}
    {%- for text in known if "'" not in text -%}{%- do literals.append("'" ~ text ~ "'") -%}{%- endfor -%}
    {%- if literals -%}
        case {{ pattern }}
        {%- for literal in literals %} when {{ literal }} then {{ synergy.full_match(value, literal, flags) }}
        {%- endfor %} else {{ synergy.full_match(value, pattern, flags) }} end
    {%- else -%}
        {{ synergy.full_match(value, pattern, flags) }}
    {%- endif -%}
{%- endmacro %}

{#- An instant as text in the session time zone (UTC), in a strftime format. Spark's patterns are
    derived from it: %Y %m %d %H %M %S, other letters quoted. -#}
{% macro format_instant(instant, format) -%}
    {{ return(adapter.dispatch('format_instant', 'synergy')(instant, format)) }}
{%- endmacro %}
{% macro default__format_instant(instant, format) -%} strftime({{ instant }}, '{{ format }}') {%- endmacro %}
{% macro spark__format_instant(instant, format) -%}
    {%- set fields = {'%Y': 'yyyy', '%m': 'MM', '%d': 'dd', '%H': 'HH', '%M': 'mm', '%S': 'ss'} -%}
    {%- set pattern = namespace(text='', rest=format) -%}
    {%- for _ in range(format | length) if pattern.rest -%}
        {%- if pattern.rest[:2] in fields -%}
            {%- set pattern.text = pattern.text ~ fields[pattern.rest[:2]] -%}{%- set pattern.rest = pattern.rest[2:] -%}
        {%- elif pattern.rest[0] in '-:. ' -%}
            {%- set pattern.text = pattern.text ~ pattern.rest[0] -%}{%- set pattern.rest = pattern.rest[1:] -%}
        {%- else -%}
            {%- set pattern.text = pattern.text ~ "'" ~ pattern.rest[0] ~ "'" -%}{%- set pattern.rest = pattern.rest[1:] -%}
        {%- endif -%}
    {%- endfor -%}
    date_format({{ instant }}, "{{ pattern.text }}")
{%- endmacro %}

{#- Hexadecimal digits (text, at most 15 of them) as a bigint. -#}
{% macro hex_to_bigint(digits) -%}
    {{ return(adapter.dispatch('hex_to_bigint', 'synergy')(digits)) }}
{%- endmacro %}
{% macro default__hex_to_bigint(digits) -%} cast(('0x' || {{ digits }}) as bigint) {%- endmacro %}
{% macro spark__hex_to_bigint(digits) -%} cast(conv({{ digits }}, 16, 10) as bigint) {%- endmacro %}

{#- Text percent-encoded for a URL, as DuckDB's url_encode does (RFC 3986: only letters, digits and -_.~
    left as they are). Spark's follows HTML forms: a space as +, * and ~ the other way round. -#}
{% macro url_encoded(text) -%}
    {{ return(adapter.dispatch('url_encoded', 'synergy')(text)) }}
{%- endmacro %}
{% macro default__url_encoded(text) -%} url_encode({{ text }}) {%- endmacro %}
{% macro spark__url_encoded(text) -%}
    replace(replace(replace(url_encode({{ text }}), '+', '%20'), '*', '%2A'), '%7E', '~')
{%- endmacro %}

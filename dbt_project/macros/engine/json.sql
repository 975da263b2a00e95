{#- JSON documents. DuckDB has a JSON type and its arrows; on Spark a document is a string that
    get_json_object reads. Paths are JSONPath ('$.a.b'). -#}

{#- A text column holding a document, as a document. -#}
{% macro json_from_text(text) -%}
    {{ return(adapter.dispatch('json_from_text', 'synergy')(text)) }}
{%- endmacro %}
{% macro default__json_from_text(text) -%} cast({{ text }} as json) {%- endmacro %}
{% macro spark__json_from_text(text) -%} {{ text }} {%- endmacro %}

{#- The value at `path` as text (a scalar's text, a nested value's JSON); null when absent. -#}
{% macro json_text(document, path) -%}
    {{ return(adapter.dispatch('json_text', 'synergy')(document, path)) }}
{%- endmacro %}
{% macro default__json_text(document, path) -%} {{ document }} ->> '{{ path }}' {%- endmacro %}
{% macro spark__json_text(document, path) -%} get_json_object({{ document }}, '{{ path }}') {%- endmacro %}

{#- The value at `path` as a document. -#}
{% macro json_value(document, path) -%}
    {{ return(adapter.dispatch('json_value', 'synergy')(document, path)) }}
{%- endmacro %}
{% macro default__json_value(document, path) -%} {{ document }} -> '{{ path }}' {%- endmacro %}
{% macro spark__json_value(document, path) -%} get_json_object({{ document }}, '{{ path }}') {%- endmacro %}

{#- The texts at several paths as one list, read with one parse of the document on DuckDB
    (list_at takes them apart). -#}
{% macro json_texts(document, paths) -%}
    {{ return(adapter.dispatch('json_texts', 'synergy')(document, paths)) }}
{%- endmacro %}
{% macro default__json_texts(document, paths) -%}
    json_extract_string({{ document }}, [{% for path in paths %}'{{ path }}'{{ ', ' if not loop.last }}{% endfor %}])
{%- endmacro %}
{% macro spark__json_texts(document, paths) -%}
    array({% for path in paths %}get_json_object({{ document }}, '{{ path }}'){{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- A JSON array of objects as a list of records whose `fields` are all text; null when it is not one. -#}
{% macro json_text_records(document, fields) -%}
    {{ return(adapter.dispatch('json_text_records', 'synergy')(document, fields)) }}
{%- endmacro %}
{% macro default__json_text_records(document, fields) -%}
    from_json({{ document }}, '[{ {%- for field in fields %}"{{ field }}": "VARCHAR"{{ ", " if not loop.last }}{% endfor -%} }]')
{%- endmacro %}
{% macro spark__json_text_records(document, fields) -%}
    from_json({{ document }}, 'array<struct<{% for field in fields %}{{ field }}:string{{ "," if not loop.last }}{% endfor %}>>')
{%- endmacro %}

{#- The value at `path` as a list of texts: an array's elements, any other value a list of that one text. -#}
{% macro json_text_list(document, path) -%}
    {{ return(adapter.dispatch('json_text_list', 'synergy')(document, path)) }}
{%- endmacro %}
{% macro default__json_text_list(document, path) -%}
    case when json_type({{ document }} -> '{{ path }}') = 'ARRAY' then cast({{ document }} -> '{{ path }}' as varchar[])
         else [{{ document }} ->> '{{ path }}'] end
{%- endmacro %}
{% macro spark__json_text_list(document, path) -%}
    coalesce(try_variant_get(try_parse_json({{ document }}), '{{ path }}', 'array<string>'), array(get_json_object({{ document }}, '{{ path }}')))
{%- endmacro %}

{#- The numbers at `field` of the objects in the array at `path`, ascending; null when the array is absent or empty. -#}
{% macro json_sorted_numbers(document, path, field) -%}
    {{ return(adapter.dispatch('json_sorted_numbers', 'synergy')(document, path, field)) }}
{%- endmacro %}
{% macro default__json_sorted_numbers(document, path, field) -%}
    (select list(cast(t ->> '$.{{ field }}' as double) order by cast(t ->> '$.{{ field }}' as double))
     from (select unnest(cast({{ document }} -> '{{ path }}' as json[])) as t))
{%- endmacro %}
{% macro spark__json_sorted_numbers(document, path, field) -%}
    {%- set numbers -%}
        transform({{ synergy.json_text_records(synergy.json_value(document, path), [field]) }}, t -> cast(t.{{ field }} as double))
    {%- endset -%}
    case when size({{ numbers }}) > 0 then array_sort({{ numbers }}) end
{%- endmacro %}

{#- Whether a document is a JSON object. -#}
{% macro json_is_object(document) -%}
    {{ return(adapter.dispatch('json_is_object', 'synergy')(document)) }}
{%- endmacro %}
{% macro default__json_is_object(document) -%} json_type({{ document }}) = 'OBJECT' {%- endmacro %}
{% macro spark__json_is_object(document) -%} json_object_keys({{ document }}) is not null {%- endmacro %}

{#- The keys of an object, as a list. -#}
{% macro json_keys_of(document) -%}
    {{ return(adapter.dispatch('json_keys_of', 'synergy')(document)) }}
{%- endmacro %}
{% macro default__json_keys_of(document) -%} json_keys({{ document }}) {%- endmacro %}
{% macro spark__json_keys_of(document) -%} json_object_keys({{ document }}) {%- endmacro %}

{#- The member of an object named by `key` (SQL text: a column or expression), as a document: a string member
    stays a JSON string, so json_is_object tells it from an object. -#}
{% macro json_member(document, key) -%}
    {{ return(adapter.dispatch('json_member', 'synergy')(document, key)) }}
{%- endmacro %}
{% macro default__json_member(document, key) -%} {{ document }} -> ('$."' || {{ key }} || '"') {%- endmacro %}
{% macro spark__json_member(document, key) -%} to_json(from_json({{ document }}, 'map<string, variant>')[{{ key }}]) {%- endmacro %}

{#- The member of an object named by `key` (SQL text), as text (a nested value's JSON). -#}
{% macro json_member_text(document, key) -%}
    {{ return(adapter.dispatch('json_member_text', 'synergy')(document, key)) }}
{%- endmacro %}
{% macro default__json_member_text(document, key) -%} {{ document }} ->> ('$."' || {{ key }} || '"') {%- endmacro %}
{% macro spark__json_member_text(document, key) -%} from_json({{ document }}, 'map<string, string>')[{{ key }}] {%- endmacro %}

{#- The text at a path computed in SQL (`path` is SQL text, not a literal). -#}
{% macro json_text_at(document, path) -%}
    {{ return(adapter.dispatch('json_text_at', 'synergy')(document, path)) }}
{%- endmacro %}
{% macro default__json_text_at(document, path) -%} json_extract_string({{ document }}, {{ path }}) {%- endmacro %}
{% macro spark__json_text_at(document, path) -%} get_json_object({{ document }}, {{ path }}) {%- endmacro %}

{#- Building documents. DuckDB's json_object embeds a JSON value as JSON and anything else as its JSON
    form. On Spark a JSON value is its text, which Spark cannot tell from other text: a member that is
    already JSON (a JSON column, a json_number) is marked with json_embedded (a list of them with
    json_embedded_list) and embedded as it is; a json_object_of is marked already, so objects nest as they
    are; every other member is written by Spark's JSON writer. So both engines write the same bytes (card
    documents, Customer.io payloads): keys in order, nulls as null, decimals as DuckDB writes them in a
    document, as doubles (1.10 as 1.1, 150.00 as 150.0; Spark's variant type would write 150). A double member
    goes through json_double (a map of them json_doubles_by_key): Java spells some doubles otherwise
    (1.0E-5 for 0.00001, 1.0E-7 for 1e-7). -#}

{#- An object of key, value, key, value, ... (keys are literals): given as arguments, or as the text of a
    call block (`{% call json_object_of() %}'a', x, 'b', {{ y }}{% endcall %}`), which reads better when
    members call macros. -#}
{% macro json_object_of() -%}
    {%- set members = caller() if caller is defined else varargs | join(', ') -%}
    {{ return(adapter.dispatch('json_object_of', 'synergy')(members | trim)) }}
{%- endmacro %}
{% macro default__json_object_of(members) -%} json_object({{ members }}) {%- endmacro %}
{% macro spark__json_object_of(members) -%}
    {%- set items = synergy.split_top_level(members) -%}
    {{ spark_json_mark() }}
    {%- if not items -%}
        '{}'
    {%- else -%}
        concat('{'
        {%- for index in range(0, items | length, 2) -%}
            , '{{ "," if index > 0 }}"{{ items[index] | trim | trim("'") }}":', {{ synergy.spark_json_member(items[index + 1] | trim) }}
        {%- endfor -%}
        , '}')
    {%- endif -%}
{%- endmacro %}

{#- Marks a JSON text embedded as it is by json_object_of on Spark. -#}
{% macro spark_json_mark() %}/*json*/{% endmacro %}

{#- A member's value as JSON text on Spark: a marked JSON text as it is, anything else through to_json. -#}
{% macro spark_json_member(value) -%}
    {%- if value.startswith(synergy.spark_json_mark()) -%}
        coalesce({{ value }}, 'null')
    {%- else -%}
        {{ synergy.spark_json_scalar(value) }}
    {%- endif -%}
{%- endmacro %}

{#- A value's JSON text through Spark's writer, decimals as DuckDB writes them in a document. -#}
{% macro spark_json_scalar(value) -%}
    {{ synergy.spark_decimal_as_double("substr(to_json(array(" ~ value ~ ")), 2, length(to_json(array(" ~ value ~ "))) - 2)") }}
{%- endmacro %}

{#- A double's JSON text as DuckDB writes it. Java writes plain from 1e-3 up to 1e7, else in scientific notation
    (1.0E-5, 1.2345E7); DuckDB plain from 1e-6 up to 1e21 (0.00001, 12345000.0), else the shortest mantissa and a
    bare exponent (1e-7, 1.5e21). The digits are Java's (the shortest that read back as the double); a decimal
    wide enough for the range writes them plain. -#}
{% macro spark_double_as_duckdb(value) -%}
    transform(transform(array(to_json(array(cast({{ value }} as double)))), j -> substr(j, 2, length(j) - 2)), t -> case
        when t not like '%E%' then t
        when abs(cast(t as double)) >= 1e21 or abs(cast(t as double)) < 1e-6 then replace(replace(t, '.0E', 'E'), 'E', 'e')
        when abs(cast(t as double)) < 1 then regexp_replace(cast(cast(t as decimal(38, 37)) as string), '0+$', '')
        else regexp_replace(regexp_replace(cast(cast(t as decimal(38, 16)) as string), '0+$', ''), '[.]$', '.0') end)[0]
{%- endmacro %}

{#- A decimal's JSON text as DuckDB writes it in a document, the shortest form of the double: trailing
    zeros dropped, one kept after the point. Any other text is left as it is. -#}
{% macro spark_decimal_as_double(text) -%}
    regexp_replace(regexp_replace({{ text }}, '^(-?[0-9]+[.][0-9]*[1-9])0+$', '$1'), '^(-?[0-9]+)[.]0+$', '$1.0')
{%- endmacro %}

{#- The comma-separated items of SQL text, commas inside parentheses, brackets or quotes left alone. -#}
{% macro split_top_level(text) -%}
    {%- set state = namespace(depth=0, quoted=false, current='', items=[]) -%}
    {%- for char in text -%}
        {%- if char == "'" -%}{%- set state.quoted = not state.quoted -%}{%- endif -%}
        {%- if not state.quoted and char in '([{' -%}{%- set state.depth = state.depth + 1 -%}{%- endif -%}
        {%- if not state.quoted and char in ')]}' -%}{%- set state.depth = state.depth - 1 -%}{%- endif -%}
        {%- if char == ',' and state.depth == 0 and not state.quoted -%}
            {%- do state.items.append(state.current) -%}{%- set state.current = '' -%}
        {%- else -%}
            {%- set state.current = state.current ~ char -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if state.current | trim -%}{%- do state.items.append(state.current) -%}{%- endif -%}
    {{ return(state.items) }}
{%- endmacro %}

{#- A JSON text as a member of json_object_of, not as a string (an argument, or a call block's text). -#}
{% macro json_embedded(document=none) -%}
    {%- set document = caller() | trim if caller is defined else document -%}
    {{ return(adapter.dispatch('json_embedded', 'synergy')(document)) }}
{%- endmacro %}
{% macro default__json_embedded(document) -%} {{ document }} {%- endmacro %}
{% macro spark__json_embedded(document) -%} {{ spark_json_mark() }} ({{ document }}) {%- endmacro %}

{#- A list of JSON texts as a JSON array member of json_object_of. -#}
{% macro json_embedded_list(documents) -%}
    {{ return(adapter.dispatch('json_embedded_list', 'synergy')(documents)) }}
{%- endmacro %}
{% macro default__json_embedded_list(documents) -%} {{ documents }} {%- endmacro %}
{% macro spark__json_embedded_list(documents) -%}
    {{ spark_json_mark() }} concat('[', array_join({{ documents }}, ','), ']')
{%- endmacro %}

{#- A double as a member of json_object_of: on Spark in DuckDB's spelling (Spark's writer spells it as Java does). -#}
{% macro json_double(value) -%}
    {{ return(adapter.dispatch('json_double', 'synergy')(value)) }}
{%- endmacro %}
{% macro default__json_double(value) -%} {{ value }} {%- endmacro %}
{% macro spark__json_double(value) -%} {{ spark_json_mark() }} {{ synergy.spark_double_as_duckdb(value) }} {%- endmacro %}

{#- A map of text to doubles as a member of json_object_of, its doubles as json_double writes them. -#}
{% macro json_doubles_by_key(map) -%}
    {{ return(adapter.dispatch('json_doubles_by_key', 'synergy')(map)) }}
{%- endmacro %}
{% macro default__json_doubles_by_key(map) -%} {{ map }} {%- endmacro %}
{% macro spark__json_doubles_by_key(map) -%}
    {{ spark_json_mark() }} concat('{', array_join(transform(map_entries({{ map }}),
        e -> concat({{ synergy.spark_json_scalar('e.key') }}, ':', {{ synergy.spark_double_as_duckdb('e.value') }})), ','), '}')
{%- endmacro %}

{#- An aggregate: the object of each row's `key` (text) and `value` of a group, keys in order (so both engines
    write the same bytes). On DuckDB its json_group_object spelled out: that is a macro, which takes no order. -#}
{% macro json_object_of_group(key, value) -%}
    {{ return(adapter.dispatch('json_object_of_group', 'synergy')(key, value)) }}
{%- endmacro %}
{% macro default__json_object_of_group(key, value) -%}
    cast('{' || string_agg(to_json(cast({{ key }} as varchar)) || ':' || coalesce(to_json({{ value }}), 'null'), ',' order by {{ key }}) || '}' as json)
{%- endmacro %}
{% macro spark__json_object_of_group(key, value) -%}
    {{ spark_json_mark() }} concat('{', array_join(transform(array_sort(collect_list(struct({{ key }} as key, {{ synergy.spark_json_member(value) }} as value))),
        e -> concat({{ synergy.spark_json_scalar('e.key') }}, ':', e.value)), ','), '}')
{%- endmacro %}

{#- A number as JSON text (for a member whose number type differs per row: points or an amount); mark it
    with json_embedded. -#}
{% macro json_number(value) -%}
    {{ return(adapter.dispatch('json_number', 'synergy')(value)) }}
{%- endmacro %}
{% macro default__json_number(value) -%} to_json({{ value }}) {%- endmacro %}
{% macro spark__json_number(value) -%} {{ spark_decimal_as_double('cast(' ~ value ~ ' as string)') }} {%- endmacro %}

{#- The first day of a card's validity. Validity runs in periods of valid_days days, each member's periods
    offset by a phase from md5 of the profile id, and a card is valid for two periods from the start of the
    current one: so a card shown by any build stays valid at least valid_days after that build's day, while
    its dates move once a period instead of with every daily build, and on any day only about one member in
    valid_days has documents whose dates moved (publishing rewrites only the documents that changed). -#}
{% macro card_valid_from(as_of_day, profile_id, valid_days) -%}
    {%- set day_number = days_between("date '1970-01-01'", 'cast(' ~ as_of_day ~ ' as date)') -%}
    {%- set phase = hex_to_bigint('left(md5(' ~ profile_id ~ '), 8)') -%}
    ({{ as_of_day }} - {{ days_interval('cast((' ~ day_number ~ ' + ' ~ phase ~ ') % greatest(' ~ valid_days ~ ', 1) as integer)') }})
{%- endmacro %}

{#- left <op> right for an operator held in data (>=, >, =, <=, <, !=); unknown operators are false. -#}
{% macro compare(left, operator, right) -%}
    case {{ operator }}
        when '>=' then ({{ left }}) >= ({{ right }})
        when '>' then ({{ left }}) > ({{ right }})
        when '=' then ({{ left }}) = ({{ right }})
        when '==' then ({{ left }}) = ({{ right }})
        when '<=' then ({{ left }}) <= ({{ right }})
        when '<' then ({{ left }}) < ({{ right }})
        when '!=' then ({{ left }}) <> ({{ right }})
        else false
    end
{%- endmacro %}

{% macro in_key_set(column, key, keys_from) -%}
    {#- A where condition: `column` among the `key` values read from `keys_from` (a relation, CTE or
        subquery, with its where clause), and, as a range a scan can prune row groups on, not below the
        lowest of them. Keys are issued in order, so the row groups of old loads hold only lower keys and
        are skipped unread; the set alone would be probed row by row over the whole table. -#}
    {{ column }} in (select {{ key }} from {{ keys_from }})
    and {{ column }} >= (select min({{ key }}) from {{ keys_from }})
{%- endmacro %}

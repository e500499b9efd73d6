{#-
    Fails when the table's row count (or the row count of a group, with group_by) lies outside
    [min_value, max_value] (the open interval when strictly=true). Same name, arguments and defaults as
    dbt_expectations.expect_table_row_count_to_be_between. Returns one row per failing group (one row at most
    without group_by) with the group's columns and its row count, n_rows. With group_by, an empty table (or a
    row_condition that keeps no rows) has no groups and so passes.
-#}
{% test expect_table_row_count_to_be_between(
    model,
    min_value=None,
    max_value=None,
    group_by=None,
    row_condition=None,
    strictly=False
) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "expect_table_row_count_to_be_between: give min_value, max_value or both."
    ) }}
{%- endif -%}
{%- if group_by is string -%}
    {{ exceptions.raise_compiler_error(
        "expect_table_row_count_to_be_between: group_by must be a list of columns, got the string '"
        ~ group_by ~ "'."
    ) }}
{%- endif -%}

{%- set group_by_columns = group_by or [] -%}
{%- set or_equal = "" if strictly else "=" -%}
{%- set bounds = [] -%}
{%- if min_value is not none -%}
    {%- do bounds.append("n_rows >" ~ or_equal ~ " " ~ min_value) -%}
{%- endif -%}
{%- if max_value is not none -%}
    {%- do bounds.append("n_rows <" ~ or_equal ~ " " ~ max_value) -%}
{%- endif %}

with row_counts as (

    select
        {%- for column in group_by_columns %}
        {{ column }},
        {%- endfor %}
        count(*) as n_rows
    from {{ model }}
    {%- if row_condition %}
    where ({{ row_condition }})
    {%- endif %}
    {%- if group_by_columns %}
    group by
        {%- for column in group_by_columns %}
        {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    {%- endif %}

),

final as (

    select *
    from row_counts
    where not ({{ bounds | join(" and ") }})

)

select *
from final

{% endtest %}

{#-
    Fails for every combination of column_list values held by more than one row. Same name, arguments and
    defaults as dbt_expectations.expect_compound_columns_to_be_unique. Rows are left out first by row_condition,
    then by ignore_row_if: "all_values_are_missing" (the default) ignores a row only when every column is null,
    "any_value_is_missing" ignores it when any column is null. Nulls that remain group together, so two rows
    (1, null) are duplicates. Returns each duplicated combination with its row count, n_records.
-#}
{% test expect_compound_columns_to_be_unique(
    model,
    column_list,
    quote_columns=False,
    ignore_row_if="all_values_are_missing",
    row_condition=None
) %}

{%- set ignore_row_if_values = ["all_values_are_missing", "any_value_is_missing"] -%}
{%- if column_list is string or column_list is not iterable or column_list | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        "expect_compound_columns_to_be_unique: column_list must be a non-empty list of columns, got '"
        ~ column_list ~ "'."
    ) }}
{%- endif -%}
{%- if ignore_row_if not in ignore_row_if_values -%}
    {{ exceptions.raise_compiler_error(
        "expect_compound_columns_to_be_unique: ignore_row_if must be one of "
        ~ ignore_row_if_values | join(", ") ~ "; got '" ~ ignore_row_if ~ "'."
    ) }}
{%- endif -%}
{%- if quote_columns not in [true, false] -%}
    {{ exceptions.raise_compiler_error(
        "expect_compound_columns_to_be_unique: quote_columns must be true or false; got '"
        ~ quote_columns ~ "'."
    ) }}
{%- endif -%}

{%- set columns = [] -%}
{%- for column in column_list -%}
    {%- do columns.append(adapter.quote(column) if quote_columns else column) -%}
{%- endfor -%}
{%- set missing_operator = " and " if ignore_row_if == "all_values_are_missing" else " or " -%}
{%- set missing_checks = [] -%}
{%- for column in columns -%}
    {%- do missing_checks.append(column ~ " is null") -%}
{%- endfor %}

with candidate_rows as (

    select
        {%- for column in columns %}
        {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
    where
        not ({{ missing_checks | join(missing_operator) }})
        {%- if row_condition %}
        and ({{ row_condition }})
        {%- endif %}

),

final as (

    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        count(*) as n_records
    from candidate_rows
    group by
        {%- for column in columns %}
        {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    having count(*) > 1

)

select *
from final

{% endtest %}

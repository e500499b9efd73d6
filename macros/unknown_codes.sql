{% macro unknown_codes(relation, column, codes, code_field, date_column) -%}
    {#- The values of `column` in `relation` that `codes` (a seed or other relation listing the known
        codes in `code_field`) does not list: one row per value with `code`, `row_count`, and the first
        and last `date_column` (a business date) it was seen on. Nulls are not codes. -#}
    select
        coded.{{ column }} as code,
        count(*) as row_count,
        min(coded.{{ date_column }}) as first_seen_on,
        max(coded.{{ date_column }}) as last_seen_on
    -- a subquery: a test's relation may itself be one, scoped to its recent rows (get_where_subquery)
    from (select * from {{ relation }}) as coded
    left join {{ codes }} as known
        on coded.{{ column }} = known.{{ code_field }}
    where
        coded.{{ column }} is not null
        and known.{{ code_field }} is null
    group by coded.{{ column }}
{%- endmacro %}


{% macro explain_failures(failing, what, fix) -%}
    {#- For a test whose failing rows are `failing` (SQL whose columns are a value, its row count, and its
        first and last date, then optionally a note): while `dbt build` or `dbt test` runs it, name every
        failing value in one message, after the tested model's name and `what`, and before `fix`. An error-severity test
        stops there with that message (a number would be wrong); a warn-severity one logs it as a warning
        and goes on. Nothing while compiling or parsing, so it needs no warehouse then. -#}
    {%- if execute and flags.WHICH in ('build', 'test') -%}
        {%- set found = run_query(failing ~ ' order by 1') -%}
        {%- if found.rows | length > 0 -%}
            {%- set listed = [] -%}
            {%- for row in found.rows -%}
                {%- set note = '; ' ~ row[4] if row | length > 4 and row[4] else '' -%}
                {%- do listed.append(
                    "'" ~ row[0] ~ "' (" ~ '{:,}'.format(row[1] | int) ~ (" row, " if row[1] == 1 else " rows, ")
                    ~ row[2] ~ " to " ~ row[3] ~ note ~ ")"
                ) -%}
            {%- endfor -%}
            {#- `model` is the test node here (in the test block it is the tested relation) -#}
            {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
            {%- set subject = (tested.name ~ '.' if tested else '') ~ what -%}
            {%- set message = subject ~ ": " ~ listed | join(", ") ~ ". " ~ fix -%}
            {%- if config.get('severity', 'error') | lower == 'error' -%}
                {{ exceptions.raise_compiler_error(message) }}
            {%- else -%}
                {{ log('Warning: ' ~ message, info=true) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#-
    For compiling without a warehouse to ask (the Redshift compile-and-parse check, `dbt compile
    --no-introspect`): with var('assume_incremental') set to true or false, is_incremental() answers it
    instead of asking the warehouse whether the model's table exists, so both branches of an incremental
    model can be compiled offline. Unset, as in every real run, dbt's own is_incremental() decides.
-#}
{% macro is_incremental() %}
    {%- set assumed = var('assume_incremental', none) -%}
    {%- if assumed is not none -%}
        {{ return(execute and assumed and model.config.materialized == 'incremental') }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}

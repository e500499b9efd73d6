with

reviews as (

    select * from {{ ref('stg_shop__reviews') }}
    where not is_deleted

),

final as (

    select
        review_id,
        title,
        body,
        loaded_at
    from reviews

)

select * from final

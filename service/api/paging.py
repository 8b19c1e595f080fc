from flask_smorest import abort

from service.catalogue import Page

# flask-smorest bounds page_size (1..100) but not page: page 9223372036854775807 made an OFFSET
# that PostgreSQL cannot hold (a 500). No collection here has anywhere near this many pages.
MAX_PAGE = 100_000


def paginated(pagination_parameters, query_function, *args, **kwargs):
    """Run a catalogue query for flask-smorest's page and tell it the total (X-Pagination)."""
    if pagination_parameters.page > MAX_PAGE:
        abort(422, errors={"page": [f"Must be between 1 and {MAX_PAGE}."]})
    page = Page(pagination_parameters.page, pagination_parameters.page_size)
    total, rows = query_function(*args, page=page, **kwargs)
    pagination_parameters.item_count = total
    return rows

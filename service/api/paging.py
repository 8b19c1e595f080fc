from service.catalogue import Page


def paginated(pagination_parameters, query_function, *args, **kwargs):
    """Run a catalogue query for flask-smorest's page and tell it the total (X-Pagination)."""
    page = Page(pagination_parameters.page, pagination_parameters.page_size)
    total, rows = query_function(*args, page=page, **kwargs)
    pagination_parameters.item_count = total
    return rows

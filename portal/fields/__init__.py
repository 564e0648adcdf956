"""Custom fields: typed ticket fields an admin defines, per-department picklist values, and the
per-department layouts (sections, order, conditional show/require) every ticket form is built from.

One layout engine serves the agent form, the customer portal and the API: `runtime.validate_submission`
is the one server-side check of a submitted form, and the ticket service (`ticket_values`) checks
every changed value against its field's definition, whoever the writer is.

    models.py         CustomField, FieldDepartmentOptions, Layout and their revisions
    types.py          the field types: a submitted value coerced to what custom_fields stores
    values.py         one value checked against a field's validation rules and options
    options.py        which picklist options apply (department, dependent parent)
    schema.py         validating a field definition and a layout document ({path: message})
    documents.py      field and layout documents, revision summaries
    services.py       the only write path for definitions: save, archive, revisions, rollback
    exchange.py       export and import of fields, department options and layouts
    picklists.py      how many tickets hold a picklist value; removing it with a mapping
    indexes.py        expression indexes for filterable fields
    runtime.py        forms at request time: layout_for, form_fields, validate_submission, ...
    forms.py          build_form: the dynamic WTForms form
    ticket_values.py  the ticket service's check of changed custom-field values
    catalogue.py      custom fields in the condition catalogue (cf.<key>)
    labels.py         admin-entered English/Chinese text in the reader's language
"""
from flask import Flask


def init_app(app: Flask) -> None:
    """Called by the app factory: the tables join the metadata; cf.<key> joins the conditions."""
    from . import catalogue, models  # noqa: F401  (models: the tables are part of the metadata)

    catalogue.install()

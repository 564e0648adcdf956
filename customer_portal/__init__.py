"""The customer portal: customers submit requests on the web (the department's portal fields included).

Sign-in, tracking, replies, knowledge-base search and CSAT come with the customer-portal work; this
package so far holds the submit form, built from the same layout engine as the agent's forms.
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp
    app.register_blueprint(bp)

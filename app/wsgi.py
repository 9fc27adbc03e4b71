"""The WSGI entry point gunicorn serves: ``app.wsgi:application``."""

from app import create_app

application = create_app()

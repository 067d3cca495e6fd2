from app import migrate


def test_models_and_migrations_agree(app):
    assert migrate.pending_differences() == []

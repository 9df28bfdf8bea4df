"""Reference data cached per process (crm_common.generations): a change committed by any session is seen by the
next transaction, a change rolled back is not, and without a token row nothing is cached."""
from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.orm import Session

from crm_common import generations
from crm_common.db import make_engine


@pytest.fixture
def db(tmp_path):
    metadata = MetaData()
    colours = Table("colours", metadata, Column("name", String(20), primary_key=True))
    generations.install(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'ref.db'}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(colours), [{"name": "red"}])
    yield engine, metadata, colours
    engine.dispose()


def seed_token(engine, metadata):
    with engine.begin() as conn:
        conn.execute(insert(metadata.tables[generations.TABLE]), [{"key": generations.KEY, "token": "first"}])


class Reader:
    """What a hot path does: the colours through the cache, counting the loads from the database."""

    def __init__(self, metadata, colours):
        self.metadata, self.colours, self.loads = metadata, colours, 0

    def __call__(self, engine) -> tuple:
        with Session(engine) as session, session.begin():
            def load():
                self.loads += 1
                return tuple(session.execute(select(self.colours.c.name).order_by(self.colours.c.name)).scalars())
            return generations.cached(session, self.metadata, "colours", load)


def add_colour(engine, metadata, colours, name, commit=True):
    with Session(engine) as session:
        session.begin()
        session.execute(insert(colours), [{"name": name}])
        generations.changed(session, metadata)
        (session.commit if commit else session.rollback)()


def test_values_are_loaded_once_until_a_writer_commits_a_change(db):
    engine, metadata, colours = db
    seed_token(engine, metadata)
    read = Reader(metadata, colours)
    assert read(engine) == ("red",) and read(engine) == ("red",)
    assert read.loads == 1
    add_colour(engine, metadata, colours, "blue")  # another session, as another process would
    assert read(engine) == ("blue", "red")
    assert read.loads == 2


def test_a_change_rolled_back_is_not_kept(db):
    engine, metadata, colours = db
    seed_token(engine, metadata)
    read = Reader(metadata, colours)
    assert read(engine) == ("red",)
    add_colour(engine, metadata, colours, "green", commit=False)
    assert read(engine) == ("red",)
    with Session(engine) as session, session.begin():  # seen in its own transaction, then rolled back
        session.execute(insert(colours), [{"name": "green"}])
        generations.changed(session, metadata)
        assert generations.cached(session, metadata, "colours", lambda: ("green", "red")) == ("green", "red")
        session.rollback()
    assert read(engine) == ("red",)


def test_without_a_token_row_every_use_loads(db):
    engine, metadata, colours = db
    read = Reader(metadata, colours)
    read(engine), read(engine)
    assert read.loads == 2
    add_colour(engine, metadata, colours, "blue")  # changed() with no row: still nothing cached
    assert read(engine) == ("blue", "red") and read.loads == 3


def test_each_database_has_its_own_values(db, tmp_path):
    engine, metadata, colours = db
    seed_token(engine, metadata)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    metadata.create_all(other)
    seed_token(other, metadata)  # the same token text in another database
    read = Reader(metadata, colours)
    assert read(engine) == ("red",)
    assert read(other) == ()
    other.dispose()

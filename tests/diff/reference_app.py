"""The FastAPI side of the differential test: examples/tour.c's routes, written the FastAPI way.

FastAPI 0.92 + Starlette 0.26 + pydantic 1.10 (Debian 12's python3-fastapi). Only the routes the tour
already has; TASK_LOG is read at each write, as the tour does (default ./log.txt).
Run: cd tests/diff && /usr/bin/python3 -m uvicorn reference_app:app --http h11 --ws websockets --port 8001
"""
import os
from functools import lru_cache
from threading import Lock
from typing import List, Optional

from fastapi import (BackgroundTasks, Depends, FastAPI, Query, WebSocket, WebSocketDisconnect,
                     WebSocketException, status)
from pydantic import BaseModel

app = FastAPI()


@app.get("/")
async def read_root():
    return {"message": "Hello World"}


# ---- the task log: background tasks append lines to TASK_LOG ----

_log_lock = Lock()


def write_log(line: str) -> None:
    with _log_lock, open(os.environ.get("TASK_LOG", "./log.txt"), "a", encoding="utf-8", newline="") as f:
        f.write(line + "\n")


# ---- settings, the database and its sessions (get_db with yield) ----

class Settings:
    db_url = "sqlite:///./demo.db"


@lru_cache()
def get_settings() -> Settings:
    return Settings()


class Store:
    def __init__(self):
        self.lock = Lock()
        self.items: list = []
        self.opened = 0
        self.closed = 0


store = Store()


class Session:
    """A stand-in for a SQLAlchemy session over the in-memory store."""

    def __init__(self):
        self.open = True
        with store.lock:
            store.opened += 1

    def close(self):
        self.open = False
        with store.lock:
            store.closed += 1

    def add(self, item: "Item") -> dict:
        with store.lock:
            row = {"id": len(store.items) + 1, "name": item.name, "price": item.price}
            store.items.append(row)
            return dict(row)

    def query_all(self) -> list:
        with store.lock:
            return [dict(row) for row in store.items]


def get_db(settings: Settings = Depends(get_settings)):
    db = Session()
    try:
        yield db
    finally:
        db.close()


class UserRepo:
    def __init__(self, db: Session):
        self.db = db
        self.users = ["admin", "testuser"]


def get_user_repo(db: Session = Depends(get_db)) -> UserRepo:
    return UserRepo(db)


@app.get("/db-check")
async def db_check(settings: Settings = Depends(get_settings), repo: UserRepo = Depends(get_user_repo),
                   settings_again: Settings = Depends(get_settings)):
    return {"chain": ["get_settings", "get_db", "get_user_repo"], "db_url": settings.db_url,
            "db_open": repo.db.open, "settings_cached": settings is settings_again, "users": repo.users}


@app.get("/db-stats")
async def db_stats():
    with store.lock:
        return {"opened": store.opened, "closed": store.closed}


# ---- items: a class-style query dependency, a JSON body, a task added by a dependency ----

class CommonQueryParams:
    def __init__(self, skip: int = 0, limit: int = 100, q: str | None = None):
        self.skip = skip
        self.limit = limit
        self.q = q


@app.get("/items/")
async def read_items(commons: CommonQueryParams = Depends()):
    return {"skip": commons.skip, "limit": commons.limit, "q": commons.q}


class Item(BaseModel):
    name: str
    price: float


class Audit:
    """Adds the task log's line for a created item (a background task added through a dependency)."""

    def __init__(self, background_tasks: BackgroundTasks):
        self.background_tasks = background_tasks

    def created(self, item_id: int) -> None:
        self.background_tasks.add_task(write_log, f"created {item_id}")


@app.post("/items/")
async def create_item(item: Item, db: Session = Depends(get_db), audit: Audit = Depends()):
    row = db.add(item)
    audit.created(row["id"])
    return {"name": row["name"], "price": row["price"], "id": row["id"]}


@app.get("/db-items/")
def db_items(db: Session = Depends(get_db)):       # a plain `def` endpoint: runs in the threadpool
    return db.query_all()


# ---- GET /async-endpoint: a second cleanup-style session ----

async def get_async_session():
    session = Session()
    try:
        yield session
    finally:
        session.close()


@app.get("/async-endpoint")
async def async_endpoint(session: Session = Depends(get_async_session)):
    return {"session_active": session.open}


# ---- background tasks ----

@app.post("/send-notification/")
async def send_notification(email: str, background_tasks: BackgroundTasks):
    background_tasks.add_task(write_log, f"Notification sent to {email}")
    return {"message": "Notification scheduled"}


@app.post("/process/")
async def process(background_tasks: BackgroundTasks):
    background_tasks.add_task(write_log, "task one")
    background_tasks.add_task(write_log, "task two")
    background_tasks.add_task(write_log, "task three")
    return {"status": "processing"}


# ---- WebSockets: an echo, a chat room through a connection manager, a token check ----
# As FastAPI's docs write them (advanced/websockets). Catching WebSocketDisconnect in the echoes only keeps
# uvicorn's log quiet: the closing handshake is the websockets library's either way.

@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            await websocket.send_text(f"Echo: {data}")
    except WebSocketDisconnect:
        pass


class ConnectionManager:
    """The docs' manager. Its weak spot: a broadcast that meets a member whose connection is closing raises
    websockets' ConnectionClosed (uvicorn 0.17 does not turn it into WebSocketDisconnect) in the sender's
    endpoint, which ends without disconnect(): the sender stays in the list and every later broadcast fails
    on it. compare.py's chat cases let a leaving client's close finish before anyone sends."""

    def __init__(self):
        self.active_connections: List[WebSocket] = []

    async def connect(self, websocket: WebSocket):
        await websocket.accept()
        self.active_connections.append(websocket)

    def disconnect(self, websocket: WebSocket):
        self.active_connections.remove(websocket)

    async def broadcast(self, message: str):
        for connection in self.active_connections:
            await connection.send_text(message)


manager = ConnectionManager()


@app.websocket("/ws/{client_id}")
async def websocket_chat(websocket: WebSocket, client_id: int):
    await manager.connect(websocket)
    try:
        while True:
            data = await websocket.receive_text()
            await manager.broadcast(f"Client {client_id}: {data}")
    except WebSocketDisconnect:
        manager.disconnect(websocket)


async def get_token(websocket: WebSocket, token: Optional[str] = Query(None)):
    # fastapi.WebSocketException (exported by 0.92) raised before accept; uvicorn refuses the handshake with
    # 403, as it does for the older docs' `await websocket.close(code=status.WS_1008_POLICY_VIOLATION)`
    if token is None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
    return token


@app.websocket("/ws-auth")
async def websocket_auth(websocket: WebSocket, token: str = Depends(get_token)):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            await websocket.send_text(f"Echo: {data}")
    except WebSocketDisconnect:
        pass

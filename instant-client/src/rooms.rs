//! Presence in rooms (`db.rooms.getPresence`, spec `admin-http.md` §6).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::transport::Repeat;
use crate::{Client, Error, User};

/// One peer present in a room.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PresenceSession {
    /// The peer's session id (`peer-id`).
    #[serde(rename = "peer-id", default)]
    pub peer_id: Option<String>,
    /// The server instance holding the session (`instance-id`).
    #[serde(rename = "instance-id", default)]
    pub instance_id: Option<String>,
    /// The signed-in user, `None` for guests and unauthenticated peers.
    #[serde(default)]
    pub user: Option<User>,
    /// The peer's presence data, as published.
    #[serde(default)]
    pub data: Value,
}

#[derive(Deserialize)]
struct PresenceBody {
    #[serde(default)]
    sessions: Option<BTreeMap<String, PresenceSession>>,
}

/// The rooms API of a [`Client`] (from [`Client::rooms`]); admin token required.
#[derive(Debug, Clone)]
pub struct Rooms {
    client: Client,
}

impl Client {
    /// The rooms API (`db.rooms`).
    pub fn rooms(&self) -> Rooms {
        Rooms {
            client: self.clone(),
        }
    }
}

impl Rooms {
    /// Who is in room `room_id` of type `room_type`, keyed by session id
    /// (`GET /admin/rooms/presence?room-type=..&room-id=..`). An empty room gives an
    /// empty map. Unlike the JS SDK, the values are URL-encoded (the JS client
    /// interpolates them raw, which breaks on `&` or `#`).
    ///
    /// # Errors
    /// [`Error::Api`] (`param-missing` for a blank room type or id).
    pub async fn get_presence(
        &self,
        room_type: &str,
        room_id: &str,
    ) -> Result<BTreeMap<String, PresenceSession>, Error> {
        let r: PresenceBody = self
            .client
            .call(
                Method::GET,
                "/admin/rooms/presence",
                &[("room-type", room_type), ("room-id", room_id)],
                None,
                false,
                Repeat::Safe,
            )
            .await?;
        Ok(r.sessions.unwrap_or_default())
    }
}

//! A typed async client for one hub WebSocket (runs on an actix/tokio local runtime).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use awc::BoxedSocket;
use awc::ws::{Codec as WsCodec, Frame, Message};
use bytes::Bytes;
use fillstack_protocol::{
    ClientFrame, Codec, FieldChanges, PublishFrame, RequestId, Seq, ServerFrame,
};
use futures_util::{SinkExt, StreamExt};

type Socket = actix_codec::Framed<BoxedSocket, WsCodec>;

/// Why a client call failed; timeouts list the frames that did arrive.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The upgrade failed.
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The socket broke.
    #[error("websocket error: {0}")]
    Socket(String),
    /// The hub closed the socket.
    #[error("the hub closed the socket: {0:?}")]
    Closed(Closed),
    /// Nothing suitable arrived in time.
    #[error("nothing suitable within {within:?}; saw: {seen:?}")]
    Timeout { within: Duration, seen: Vec<String> },
    /// A frame from the hub did not decode.
    #[error("undecodable frame from the hub: {0}")]
    Decode(String),
    /// The hub answered something else than expected.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

/// How the hub closed the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The close code, when the hub sent a close frame.
    pub code: Option<u16>,
    /// The close reason.
    pub reason: String,
}

/// One thing received.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A decoded frame.
    Frame(ServerFrame),
    /// The socket closed.
    Closed(Closed),
}

/// What [`Client::raw_within`] returns.
pub enum Raw {
    /// A frame decoded earlier, while a request waited for its answer.
    Decoded(ServerFrame),
    /// A data frame's bytes, in the connection's codec.
    Bytes(Bytes),
}

enum Data {
    Bytes(Bytes),
    Closed(Closed),
}

/// One WebSocket connection to a hub.
pub struct Client {
    socket: Socket,
    codec: Codec,
    next_id: RequestId,
    /// Frames that arrived while waiting for a particular answer.
    backlog: VecDeque<ServerFrame>,
    /// Short descriptions of recent frames, for failure messages.
    seen: VecDeque<String>,
}

impl Client {
    /// Connects to `url` (e.g. `ws://127.0.0.1:8080/ws`) offering `codec`'s subprotocol.
    pub async fn connect(url: &str, codec: Codec) -> Result<Self, ClientError> {
        Self::connect_with(url, Some(codec), &[]).await
    }

    /// Connects offering `codec` (or no subprotocol) and extra request headers.
    pub async fn connect_with(
        url: &str,
        codec: Option<Codec>,
        headers: &[(&str, &str)],
    ) -> Result<Self, ClientError> {
        let mut request = awc::Client::builder()
            .timeout(Duration::from_secs(10))
            .finish()
            .ws(url)
            .max_frame_size(64 * 1024 * 1024);
        if let Some(codec) = codec {
            request = request.protocols([codec.subprotocol()]);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (_, socket) = request.connect().await.map_err(|e| ClientError::Connect {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            socket,
            codec: codec.unwrap_or(Codec::MsgPack),
            next_id: 1,
            backlog: VecDeque::new(),
            seen: VecDeque::new(),
        })
    }

    /// Connects and says `hello` (no token); returns the client after `welcome`.
    pub async fn connect_hello(url: &str, codec: Codec) -> Result<Self, ClientError> {
        let mut client = Self::connect(url, codec).await?;
        client.hello(None).await?;
        Ok(client)
    }

    /// A fresh request id.
    pub fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        self.next_id
    }

    /// Sends one frame in the connection's codec.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        let bytes = self.codec.encode(frame);
        self.send_raw(bytes).await
    }

    /// Sends bytes as they are: a binary frame for MessagePack, text for JSON.
    pub async fn send_raw(&mut self, bytes: Bytes) -> Result<(), ClientError> {
        let message = match self.codec {
            Codec::MsgPack => Message::Binary(bytes),
            Codec::Json => Message::Text(String::from_utf8_lossy(&bytes).into_owned().into()),
        };
        self.send_message(message).await
    }

    /// Sends a raw WebSocket message (binary or text regardless of codec).
    pub async fn send_message(&mut self, message: Message) -> Result<(), ClientError> {
        self.socket
            .send(message)
            .await
            .map_err(|e| ClientError::Socket(e.to_string()))
    }

    /// The next frame or close, waiting at most `within`.
    pub async fn recv_within(&mut self, within: Duration) -> Result<Received, ClientError> {
        if let Some(frame) = self.backlog.pop_front() {
            return Ok(Received::Frame(frame));
        }
        match tokio::time::timeout(within, self.read()).await {
            Ok(received) => received,
            Err(_) => Err(self.timeout(within)),
        }
    }

    /// The next frame (a close is an error), waiting at most `within`.
    pub async fn frame_within(&mut self, within: Duration) -> Result<ServerFrame, ClientError> {
        match self.recv_within(within).await? {
            Received::Frame(frame) => Ok(frame),
            Received::Closed(closed) => Err(ClientError::Closed(closed)),
        }
    }

    /// Waits for the close, skipping frames; returns its code and reason.
    pub async fn closed_within(&mut self, within: Duration) -> Result<Closed, ClientError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Received::Closed(closed) = self.recv_within(left).await? {
                return Ok(closed);
            }
        }
    }

    fn timeout(&self, within: Duration) -> ClientError {
        ClientError::Timeout {
            within,
            seen: self.seen.iter().cloned().collect(),
        }
    }

    fn note(&mut self, what: String) {
        if self.seen.len() == 20 {
            self.seen.pop_front();
        }
        self.seen.push_back(what);
    }

    /// The next frame as it came, undecoded (frames already decoded while waiting
    /// for an answer come first, decoded), waiting at most `within`; a close is
    /// an error. For hot loops: nothing is decoded or noted for diagnostics.
    pub async fn raw_within(&mut self, within: Duration) -> Result<Raw, ClientError> {
        if let Some(frame) = self.backlog.pop_front() {
            return Ok(Raw::Decoded(frame));
        }
        match tokio::time::timeout(within, self.read_data()).await {
            Ok(Ok(Data::Bytes(bytes))) => Ok(Raw::Bytes(bytes)),
            Ok(Ok(Data::Closed(closed))) => Err(ClientError::Closed(closed)),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(self.timeout(within)),
        }
    }

    /// The codec this connection speaks.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    async fn read(&mut self) -> Result<Received, ClientError> {
        let bytes = match self.read_data().await? {
            Data::Bytes(bytes) => bytes,
            Data::Closed(closed) => {
                self.note(format!("close {:?} {}", closed.code, closed.reason));
                return Ok(Received::Closed(closed));
            }
        };
        let frame: ServerFrame = self
            .codec
            .decode(&bytes)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        self.note(describe(&frame));
        Ok(Received::Frame(frame))
    }

    /// The next data frame's bytes or the close, answering pings on the way.
    async fn read_data(&mut self) -> Result<Data, ClientError> {
        loop {
            let Some(item) = self.socket.next().await else {
                return Ok(Data::Closed(Closed {
                    code: None,
                    reason: "connection ended".into(),
                }));
            };
            let bytes = match item.map_err(|e| ClientError::Socket(e.to_string()))? {
                Frame::Binary(bytes) | Frame::Text(bytes) => bytes,
                Frame::Ping(bytes) => {
                    self.send_message(Message::Pong(bytes)).await?;
                    continue;
                }
                Frame::Pong(_) | Frame::Continuation(_) => continue,
                Frame::Close(reason) => {
                    return Ok(Data::Closed(Closed {
                        code: reason.as_ref().map(|r| u16::from(r.code)),
                        reason: reason.and_then(|r| r.description).unwrap_or_default(),
                    }));
                }
            };
            return Ok(Data::Bytes(bytes));
        }
    }

    /// Sends `frame` and waits for the answer carrying its id; other frames that
    /// arrive meanwhile stay queued for `recv_within`.
    pub async fn request(
        &mut self,
        frame: &ClientFrame,
        within: Duration,
    ) -> Result<ServerFrame, ClientError> {
        let id = frame.request_id();
        self.send(frame).await?;
        let deadline = tokio::time::Instant::now() + within;
        let mut others = Vec::new();
        let answer = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = match tokio::time::timeout(left, self.read()).await {
                Ok(Ok(Received::Frame(frame))) => frame,
                Ok(Ok(Received::Closed(closed))) => break Err(ClientError::Closed(closed)),
                Ok(Err(error)) => break Err(error),
                Err(_) => break Err(self.timeout(within)),
            };
            if answer_id(&frame) == Some(id) {
                break Ok(frame);
            }
            others.push(frame);
        };
        self.backlog.extend(others);
        answer
    }

    /// `hello`; answers the `welcome` (or the error as `Unexpected`).
    pub async fn hello(&mut self, token: Option<&str>) -> Result<ServerFrame, ClientError> {
        let id = self.next_id();
        let hello = ClientFrame::Hello {
            id,
            token: token.map(str::to_owned),
            client: None,
        };
        expect(self.request(&hello, Duration::from_secs(10)).await?, |f| {
            matches!(f, ServerFrame::Welcome { .. })
        })
    }

    /// `sub`; answers the `count` of the `ok`.
    pub async fn subscribe(
        &mut self,
        pattern: &str,
        since: Option<BTreeMap<String, Seq>>,
    ) -> Result<u64, ClientError> {
        let id = self.next_id();
        let sub = ClientFrame::Sub {
            id,
            pattern: pattern.to_owned(),
            since,
            epoch: None,
            more: false,
        };
        match self.request(&sub, Duration::from_secs(10)).await? {
            ServerFrame::Ok { count, .. } => Ok(count.unwrap_or(0)),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// `pub` with a status and fields; answers the acked seq.
    pub async fn publish(
        &mut self,
        resource: &str,
        status: Option<&str>,
        fields: FieldChanges,
    ) -> Result<Seq, ClientError> {
        let id = self.next_id();
        let frame = ClientFrame::Pub(PublishFrame {
            id,
            resource: resource.to_owned(),
            status: status.map(str::to_owned),
            fields: (!fields.is_empty()).then_some(fields),
            ..PublishFrame::default()
        });
        self.publish_frame(frame).await
    }

    /// Sends a `pub` frame and waits for its `ack`.
    pub async fn publish_frame(&mut self, frame: ClientFrame) -> Result<Seq, ClientError> {
        match self.request(&frame, Duration::from_secs(10)).await? {
            ServerFrame::Ack { seq, .. } => Ok(seq),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }
}

fn expect(
    frame: ServerFrame,
    wanted: impl Fn(&ServerFrame) -> bool,
) -> Result<ServerFrame, ClientError> {
    if wanted(&frame) {
        Ok(frame)
    } else {
        Err(ClientError::Unexpected(format!("{frame:?}")))
    }
}

/// The request id a frame answers, if it answers one.
pub fn answer_id(frame: &ServerFrame) -> Option<RequestId> {
    match frame {
        ServerFrame::Welcome { id, .. }
        | ServerFrame::Ok { id, .. }
        | ServerFrame::Ack { id, .. }
        | ServerFrame::History { id, .. }
        | ServerFrame::Pong { id, .. } => Some(*id),
        ServerFrame::Snapshot(snapshot) => snapshot.id,
        ServerFrame::Error { id, .. } => *id,
        ServerFrame::Delta(_) | ServerFrame::Removed(_) => None,
    }
}

fn describe(frame: &ServerFrame) -> String {
    match frame {
        ServerFrame::Snapshot(s) => format!("snapshot {}@{} reset={}", s.resource, s.seq, s.reset),
        ServerFrame::Delta(d) => format!("delta {}@{}", d.resource, d.seq),
        ServerFrame::Removed(r) => format!("removed {}@{}", r.resource, r.seq),
        ServerFrame::Error { code, message, .. } => format!("error {code:?}: {message}"),
        other => format!("{other:?}").chars().take(80).collect(),
    }
}

//! `hello`: who the session is. With auth configured, a token (in the frame, or in
//! `Authorization: Bearer` on the upgrade) gives the session its grants until the
//! token's `exp`; a later `hello` may refresh it. Without auth, every session is admin.

use std::time::Duration;

use actix::prelude::*;
use fillstack_protocol::{CloseCode, ErrorCode, RequestId, ServerFrame};

use super::{SessionActor, millis};
use crate::auth::{Grants, TokenVerifier};
use crate::error::Rejection;
use crate::resource::now_ms;

/// What a session checks tokens with, the token its upgrade request carried, and
/// its rate budgets.
#[derive(Default)]
pub struct Credentials {
    /// `None` when no auth is configured.
    pub verifier: Option<std::sync::Arc<TokenVerifier>>,
    /// From `Authorization: Bearer` on the upgrade, for non-browser clients.
    pub upgrade_token: Option<String>,
    /// `None` when rate limits are off.
    pub limits: Option<Box<crate::limits::SessionLimits>>,
    /// The client's address, for logs.
    pub peer: Option<std::net::SocketAddr>,
}

impl SessionActor {
    pub(super) fn hello(
        &mut self,
        id: RequestId,
        token: Option<String>,
        ctx: &mut Context<Self>,
    ) -> Result<(), Rejection> {
        let mut expires_at = None;
        let mut quota = None;
        let mut writer = crate::limits::Writer::Anonymous;
        let grants = match &self.credentials.verifier {
            None => Grants::admin(),
            Some(verifier) => {
                let token = token.or_else(|| self.credentials.upgrade_token.clone()).ok_or_else(|| {
                    Rejection::new(ErrorCode::Unauthorized, "this hub requires a token: send it in hello or as Authorization: Bearer")
                })?;
                let verified = verifier.verify(&token, now_ms() / 1000)?;
                self.span.record("sub", verified.subject.as_str());
                tracing::debug!(session = %self.id, sub = %verified.subject, roles = ?verified.grants.roles(), "session authenticated");
                expires_at = Some(verified.expires_at);
                // A refresh by the same subject keeps its unit; another subject
                // needs one of its own (and gives the old one back once accepted).
                if self
                    .quota
                    .as_ref()
                    .is_none_or(|held| held.subject() != verified.subject)
                {
                    match self.hub.quotas().admit_session(&verified.subject) {
                        Ok(unit) => quota = Some(unit),
                        Err(rejection) => {
                            // The token is fine; its subject has too many sessions. A
                            // session with no valid hello yet is closed 1008 (policy),
                            // not 4001; a refreshing one keeps what it had.
                            self.refuse(rejection.answering(Some(id)));
                            if self.grants.is_none() {
                                self.outbox.close(
                                    CloseCode::Policy,
                                    "over limits.sessions_per_subject",
                                    true,
                                );
                            }
                            return Ok(());
                        }
                    }
                }
                writer = crate::limits::Writer::Subject(verified.subject.as_str().into());
                verified.grants
            }
        };
        if self.grants.is_some() {
            // A refresh may not narrow the scope under live subscriptions.
            for pattern in self.subscriptions.every_pattern() {
                grants.allow_pattern(pattern).map_err(|_| {
                    Rejection::new(
                        ErrorCode::Forbidden,
                        format!("the new token's scope does not cover the live subscription `{pattern}`; unsubscribe first"),
                    )
                })?;
            }
        }
        self.reply(&ServerFrame::Welcome {
            id,
            session: self.id.to_string(),
            server: self.settings.server.clone(),
            heartbeat_ms: millis(self.settings.heartbeat),
            max_frame_bytes: self.settings.max_frame_bytes as u64,
            roles: grants.roles(),
            epoch: self.hub.epoch().to_owned(),
        });
        self.grants = Some(grants);
        if let Some(timer) = self.hello_timer.take() {
            ctx.cancel_future(timer);
        }
        self.writer = writer;
        if quota.is_some() {
            self.quota = quota;
        }
        if let Some(expires_at) = expires_at {
            self.arm_expiry(expires_at, ctx);
        }
        Ok(())
    }

    /// Closes the session 4002 at `expires_at` (unix s) unless a new `hello` re-arms it.
    fn arm_expiry(&mut self, expires_at: u64, ctx: &mut Context<Self>) {
        if let Some(previous) = self.expiry.take() {
            ctx.cancel_future(previous);
        }
        let wait = Duration::from_millis((expires_at * 1000).saturating_sub(now_ms()));
        self.expiry = Some(ctx.run_later(wait, |session, _| {
            session.refuse(Rejection::new(
                ErrorCode::Unauthorized,
                "the token expired; send hello with a new one",
            ));
            session
                .outbox
                .close(CloseCode::TokenExpired, "token expired", true);
        }));
    }
}

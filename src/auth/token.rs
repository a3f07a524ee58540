//! Token verification: one algorithm pinned by configuration, `exp` required, `nbf`
//! checked, `iss` and `aud` required when configured, a leeway of a few seconds.
//! A token's own `alg` header never picks the algorithm, and `none` never parses.

use std::collections::HashMap;
use std::time::Duration;

use fillstack_protocol::{ErrorCode, Pattern};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Grants, Role};
use crate::error::Rejection;

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY: Duration = Duration::from_secs(5);

/// Where the verification key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// HS256 with a shared secret.
    Secret(Vec<u8>),
    /// One public key (PEM) for RS256, ES256 or EdDSA.
    PublicKey { pem: Vec<u8>, algorithm: Algorithm },
    /// A JWKS document; the token's `kid` picks the key, the algorithm is still pinned.
    Jwks { set: JwkSet, algorithm: Algorithm },
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret.
        match self {
            Self::Secret(_) => f.write_str("Secret(..)"),
            Self::PublicKey { algorithm, .. } => write!(f, "PublicKey({algorithm:?})"),
            Self::Jwks { algorithm, set } => {
                write!(f, "Jwks({algorithm:?}, {} keys)", set.keys.len())
            }
        }
    }
}

/// The claims FILLSTACK reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token names.
    pub sub: String,
    /// `viewer`, `publisher`, `admin`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Patterns the token may touch; absent means every resource. Present, it must be a
    /// list: `"res": null` is refused rather than read as "everything".
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_list"
    )]
    pub res: Option<Vec<String>>,
    /// Expiry, unix seconds (required: a token without it is refused as such).
    #[serde(default)]
    pub exp: u64,
    /// Not before, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience: one name or a list (RFC 7519 allows both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// The `aud` claim: RFC 7519 lets it be one string or a list of them. Which one the
/// token holds is checked by `jsonwebtoken` against the configured audience; the hub
/// only has to read either shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "fillstack"`
    One(String),
    /// `"aud": ["fillstack", "other"]`
    Many(Vec<String>),
}

impl From<&str> for Audience {
    fn from(name: &str) -> Self {
        Self::One(name.to_owned())
    }
}

/// A verified token: who, what they may do, and until when.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The token's `sub`.
    pub subject: String,
    /// What the token allows.
    pub grants: Grants,
    /// `exp`, unix seconds.
    pub expires_at: u64,
}

/// Checks tokens against the configured key.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: HashMap<Option<String>, DecodingKey>,
    by_kid: bool,
    validation: Validation,
}

/// Why a key could not be used, or a token not signed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    /// The algorithm is not one this hub verifies with a public key.
    #[error("algorithm {0} is not one of RS256, ES256, EdDSA")]
    Algorithm(String),
    /// `--jwt-alg` names no algorithm this hub knows.
    #[error("`{0}` is not RS256, ES256 or EdDSA")]
    AlgorithmName(String),
    /// The PEM file does not hold a key of the configured algorithm.
    #[error("the public key is not a valid {algorithm} PEM key: {reason}")]
    PublicKey {
        /// The configured algorithm.
        algorithm: String,
        /// What the key parser said.
        reason: String,
    },
    /// A key of the JWKS cannot be used.
    #[error("a JWKS key is not usable: {0}")]
    Jwks(String),
    /// Signing failed (`fillstack token`).
    #[error("cannot sign the token: {0}")]
    Sign(String),
}

/// Why verified claims give no grants.
#[derive(Debug, Clone, thiserror::Error)]
enum ClaimsError {
    #[error("role `{0}` is not viewer, publisher or admin")]
    Role(String),
    #[error("it has no roles")]
    NoRoles,
    #[error("res: {0}")]
    Scope(#[from] fillstack_protocol::IdError),
}

impl TokenVerifier {
    /// A verifier for `source`, checking `issuer` and `audience` when given.
    pub fn new(
        source: &KeySource,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Self, KeyError> {
        let (algorithm, keys, by_kid) = match source {
            KeySource::Secret(secret) => (
                Algorithm::HS256,
                HashMap::from([(None, DecodingKey::from_secret(secret))]),
                false,
            ),
            KeySource::PublicKey { pem, algorithm } => {
                let key = match algorithm {
                    Algorithm::RS256 => DecodingKey::from_rsa_pem(pem),
                    Algorithm::ES256 => DecodingKey::from_ec_pem(pem),
                    Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
                    other => return Err(KeyError::Algorithm(format!("{other:?}"))),
                }
                .map_err(|e| KeyError::PublicKey {
                    algorithm: format!("{algorithm:?}"),
                    reason: e.to_string(),
                })?;
                (*algorithm, HashMap::from([(None, key)]), false)
            }
            KeySource::Jwks { set, algorithm } => {
                let mut keys = HashMap::new();
                for jwk in &set.keys {
                    let key =
                        DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Jwks(e.to_string()))?;
                    keys.insert(jwk.common.key_id.clone(), key);
                }
                (*algorithm, keys, true)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY.as_secs();
        // `nbf` is checked after decoding, once it is known to be before the year 9999.
        validation.validate_nbf = false;
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Ok(Self {
            keys,
            by_kid,
            validation,
        })
    }

    /// Verifies `token`; the rejection says why it was refused, never echoing it.
    pub fn verify(&self, token: &str, now_s: u64) -> Result<Verified, Rejection> {
        let refuse = |why: &str| {
            Rejection::new(
                ErrorCode::Unauthorized,
                format!("the token was refused: {why}"),
            )
        };
        let key = if self.by_kid {
            let header =
                jsonwebtoken::decode_header(token).map_err(|_| refuse("it is not a JWT"))?;
            let kid = header
                .kid
                .ok_or_else(|| refuse("it has no `kid` and the hub verifies with a JWKS"))?;
            self.keys
                .get(&Some(kid.clone()))
                .ok_or_else(|| refuse("no key of the JWKS has its `kid`"))?
        } else {
            self.keys
                .get(&None)
                .ok_or_else(|| refuse("no key is configured"))?
        };
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|error| {
                refuse(match error.kind() {
                    ErrorKind::ExpiredSignature => "it expired",
                    ErrorKind::InvalidSignature => "its signature does not match the hub's key",
                    ErrorKind::InvalidAlgorithm => {
                        "its algorithm is not the one the hub is configured for"
                    }
                    ErrorKind::InvalidIssuer => "its issuer (iss) is not the configured one",
                    ErrorKind::InvalidAudience => "its audience (aud) is not the configured one",
                    ErrorKind::MissingRequiredClaim(claim) if claim == "exp" => "it has no exp",
                    ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => "it has no aud",
                    ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => "it has no iss",
                    ErrorKind::MissingRequiredClaim(_) => "it lacks a required claim",
                    ErrorKind::Json(_) => {
                        "its claims do not have the expected types (exp and nbf numbers, \
                         res a list of patterns, roles a list)"
                    }
                    _ => "it is not a valid JWT",
                })
            })?;
        if data.header.crit.is_some() {
            // RFC 7515 4.1.11: a recipient that does not understand a listed extension
            // must refuse the token; this hub understands none.
            return Err(refuse(
                "it lists critical header extensions (crit) the hub does not understand",
            ));
        }
        let claims = data.claims;
        if claims.exp > MAX_TIME_S || claims.nbf.is_some_and(|nbf| nbf > MAX_TIME_S) {
            return Err(refuse("its exp or nbf is past the year 9999"));
        }
        if claims.exp.saturating_add(LEEWAY.as_secs()) < now_s {
            return Err(refuse("it expired"));
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now_s.saturating_add(LEEWAY.as_secs()))
        {
            return Err(refuse("it is not valid yet (nbf)"));
        }
        let grants = grants_of(&claims).map_err(|why| refuse(&why.to_string()))?;
        Ok(Verified {
            subject: claims.sub,
            grants,
            expires_at: claims.exp,
        })
    }
}

/// 9999-12-31T23:59:59Z in unix seconds: the last instant a token's `exp` or `nbf` may
/// name. Later ones are refused rather than carried into timers where they overflow.
const MAX_TIME_S: u64 = 253_402_300_799;

/// `res` when present: a list, never `null`.
fn present_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Vec::<String>::deserialize(deserializer).map(Some)
}

fn grants_of(claims: &Claims) -> Result<Grants, ClaimsError> {
    let roles = claims
        .roles
        .iter()
        .map(|role| match role.as_str() {
            "viewer" => Ok(Role::Viewer),
            "publisher" => Ok(Role::Publisher),
            "admin" => Ok(Role::Admin),
            other => Err(ClaimsError::Role(other.to_owned())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if roles.is_empty() {
        return Err(ClaimsError::NoRoles);
    }
    let scopes = claims
        .res
        .as_ref()
        .map(|patterns| {
            patterns
                .iter()
                .map(|p| Pattern::parse(p).map_err(ClaimsError::from))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(Grants::new(roles, scopes))
}

/// Signs an HS256 token (the `fillstack token` command).
pub fn mint(secret: &[u8], claims: &Claims) -> Result<String, KeyError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| KeyError::Sign(e.to_string()))
}

/// Parses `RS256`, `ES256` or `EdDSA`.
pub fn asymmetric_algorithm(name: &str) -> Result<Algorithm, KeyError> {
    match name {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(KeyError::AlgorithmName(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const SECRET: &[u8] = b"a-test-secret-of-32-bytes-or-so!";
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIP2LB1bavlRc7n1ntlNmMp1JdCRtqBX0OZzVlw2cPds6\n-----END PRIVATE KEY-----\n";
    const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAvBScH6/GiXqz6881zd+Dwk4hXKQW0THPat4NZH1VXuM=\n-----END PUBLIC KEY-----\n";

    fn claims() -> Claims {
        Claims {
            sub: "agent-7".into(),
            roles: vec!["publisher".into()],
            res: Some(vec!["svc/**".into()]),
            exp: NOW + 3600,
            nbf: None,
            iat: Some(NOW),
            iss: None,
            aud: None,
        }
    }

    fn hs256() -> TokenVerifier {
        TokenVerifier::new(&KeySource::Secret(SECRET.to_vec()), None, None).unwrap()
    }

    fn refusal(verifier: &TokenVerifier, token: &str) -> String {
        let rejection = verifier.verify(token, NOW).unwrap_err();
        assert_eq!(rejection.code, ErrorCode::Unauthorized);
        rejection.message
    }

    #[test]
    fn a_good_token_gives_its_subject_roles_and_scopes() {
        let verified = hs256()
            .verify(&mint(SECRET, &claims()).unwrap(), NOW)
            .unwrap();
        assert_eq!(
            (verified.subject.as_str(), verified.expires_at),
            ("agent-7", NOW + 3600)
        );
        assert_eq!(verified.grants.roles(), vec!["publisher"]);
    }

    #[test]
    fn bad_tokens_are_refused_with_the_reason_and_never_the_token() {
        let verifier = hs256();
        let wrong_key = mint(b"another-secret-entirely-32-bytes", &claims()).unwrap();
        assert_eq!(
            refusal(&verifier, &wrong_key),
            "the token was refused: its signature does not match the hub's key"
        );
        let expired = mint(
            SECRET,
            &Claims {
                exp: NOW - 60,
                ..claims()
            },
        )
        .unwrap();
        assert_eq!(
            refusal(&verifier, &expired),
            "the token was refused: it expired"
        );
        let early = mint(
            SECRET,
            &Claims {
                nbf: Some(NOW + 600),
                ..claims()
            },
        )
        .unwrap();
        assert_eq!(
            refusal(&verifier, &early),
            "the token was refused: it is not valid yet (nbf)"
        );
        let unknown_role = mint(
            SECRET,
            &Claims {
                roles: vec!["root".into()],
                ..claims()
            },
        )
        .unwrap();
        assert!(
            refusal(&verifier, &unknown_role)
                .contains("role `root` is not viewer, publisher or admin")
        );
        assert_eq!(
            refusal(&verifier, "not.a.jwt"),
            "the token was refused: it is not a valid JWT"
        );
        let message = refusal(&verifier, &wrong_key);
        assert!(!message.contains(&wrong_key[..20]));
    }

    #[test]
    fn alg_none_and_a_missing_exp_never_pass() {
        let b64 = base64_url;
        let payload = serde_json::json!({"sub": "x", "roles": ["admin"], "exp": NOW + 60});
        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(payload.to_string().as_bytes())
        );
        assert!(refusal(&hs256(), &none).starts_with("the token was refused"));
        let header = Header::new(Algorithm::HS256);
        let no_exp = serde_json::json!({"sub": "x", "roles": ["admin"]});
        let token =
            jsonwebtoken::encode(&header, &no_exp, &EncodingKey::from_secret(SECRET)).unwrap();
        assert_eq!(
            refusal(&hs256(), &token),
            "the token was refused: it has no exp"
        );
    }

    fn base64_url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    #[test]
    fn issuer_and_audience_are_required_when_configured() {
        let verifier = TokenVerifier::new(
            &KeySource::Secret(SECRET.to_vec()),
            Some("hub-ca"),
            Some("fillstack"),
        )
        .unwrap();
        let right = Claims {
            iss: Some("hub-ca".into()),
            aud: Some("fillstack".into()),
            ..claims()
        };
        assert!(verifier.verify(&mint(SECRET, &right).unwrap(), NOW).is_ok());
        let no_aud = Claims {
            aud: None,
            ..right.clone()
        };
        assert_eq!(
            refusal(&verifier, &mint(SECRET, &no_aud).unwrap()),
            "the token was refused: it has no aud"
        );
        let wrong_aud = Claims {
            aud: Some("other".into()),
            ..right.clone()
        };
        assert!(refusal(&verifier, &mint(SECRET, &wrong_aud).unwrap()).contains("audience"));
        let wrong_iss = Claims {
            iss: Some("evil".into()),
            ..right
        };
        assert!(refusal(&verifier, &mint(SECRET, &wrong_iss).unwrap()).contains("issuer"));
    }

    /// An HS256 token over `payload` as given, whatever `Claims` can express.
    fn signed(payload: &serde_json::Value) -> String {
        let key = EncodingKey::from_secret(SECRET);
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), payload, &key).unwrap()
    }

    #[test]
    fn aud_may_be_a_string_or_a_list_and_a_list_passes_when_it_holds_the_audience() {
        let with_aud = |aud: &serde_json::Value| {
            signed(&serde_json::json!({
                "sub": "agent-7", "roles": ["viewer"], "exp": NOW + 60, "aud": aud
            }))
        };
        let unset = hs256();
        for aud in [
            serde_json::json!("anyone"),
            serde_json::json!(["a", "b"]),
            serde_json::json!([]),
        ] {
            let verified = unset.verify(&with_aud(&aud), NOW);
            assert!(
                verified.is_ok(),
                "no audience configured, aud {aud}: {verified:?}"
            );
        }
        let configured =
            TokenVerifier::new(&KeySource::Secret(SECRET.to_vec()), None, Some("fillstack"))
                .unwrap();
        for aud in [
            serde_json::json!("fillstack"),
            serde_json::json!(["other", "fillstack"]),
        ] {
            let verified = configured.verify(&with_aud(&aud), NOW);
            assert!(verified.is_ok(), "aud {aud}: {verified:?}");
        }
        for aud in [
            serde_json::json!("other"),
            serde_json::json!(["other", "more"]),
            serde_json::json!([]),
        ] {
            assert_eq!(
                refusal(&configured, &with_aud(&aud)),
                "the token was refused: its audience (aud) is not the configured one",
                "aud {aud}"
            );
        }
    }

    /// Signs `claims` given as raw JSON, with `crit` in the header when given.
    fn raw_token(claims: serde_json::Value, crit: Option<Vec<String>>) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.crit = crit;
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    #[test]
    fn unknown_critical_headers_far_times_and_a_null_res_are_refused() {
        let verifier = hs256();
        let good = serde_json::json!({"sub": "a", "roles": ["viewer"], "exp": NOW + 60});
        assert!(verifier.verify(&raw_token(good.clone(), None), NOW).is_ok());
        assert!(
            refusal(&verifier, &raw_token(good, Some(vec!["b64".into()])))
                .contains("critical header extensions (crit)")
        );
        for (claim, value) in [
            ("exp", serde_json::json!(MAX_TIME_S + 1)),
            ("exp", serde_json::json!(u64::MAX - 2)),
            ("nbf", serde_json::json!(u64::MAX)),
        ] {
            let mut claims = serde_json::json!({"sub": "a", "roles": ["viewer"], "exp": NOW + 60});
            claims[claim] = value.clone();
            let refused = refusal(&verifier, &raw_token(claims, None));
            assert!(
                refused.contains("past the year 9999"),
                "{claim} = {value}: {refused}"
            );
        }
        let last = serde_json::json!({"sub": "a", "roles": ["viewer"], "exp": MAX_TIME_S});
        assert!(verifier.verify(&raw_token(last, None), NOW).is_ok());
        let null_res =
            serde_json::json!({"sub": "a", "roles": ["viewer"], "exp": NOW + 60, "res": null});
        assert!(refusal(&verifier, &raw_token(null_res, None)).contains("res a list"));
        let no_res = serde_json::json!({"sub": "a", "roles": ["viewer"], "exp": NOW + 60});
        assert!(verifier.verify(&raw_token(no_res, None), NOW).is_ok());
    }

    #[test]
    fn a_jwks_picks_the_key_by_kid_and_refuses_unknown_or_missing_kids() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
            "x": "vBScH6_GiXqz6881zd-Dwk4hXKQW0THPat4NZH1VXuM"
        }]}))
        .unwrap();
        let verifier = TokenVerifier::new(
            &KeySource::Jwks {
                set,
                algorithm: Algorithm::EdDSA,
            },
            None,
            None,
        )
        .unwrap();
        let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        let sign = |kid: Option<&str>| {
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = kid.map(str::to_owned);
            jsonwebtoken::encode(&header, &claims(), &key).unwrap()
        };
        assert!(verifier.verify(&sign(Some("k1")), NOW).is_ok());
        assert_eq!(
            refusal(&verifier, &sign(Some("k2"))),
            "the token was refused: no key of the JWKS has its `kid`"
        );
        let hostile = "<script>alert(1)</script>";
        assert!(!refusal(&verifier, &sign(Some(hostile))).contains(hostile));
        assert!(refusal(&verifier, &sign(None)).contains("has no `kid`"));
    }

    #[test]
    fn an_eddsa_public_key_verifies_and_an_hs256_token_cannot_pose_as_it() {
        let source = KeySource::PublicKey {
            pem: ED_PUBLIC.as_bytes().to_vec(),
            algorithm: Algorithm::EdDSA,
        };
        let verifier = TokenVerifier::new(&source, None, None).unwrap();
        let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims(), &key).unwrap();
        assert!(verifier.verify(&token, NOW).is_ok());
        // The public key used as an HMAC secret: the classic algorithm confusion.
        let confused = mint(ED_PUBLIC.as_bytes(), &claims()).unwrap();
        assert!(refusal(&verifier, &confused).contains("algorithm"));
    }
}

//! The error envelope `{type, message, hint, trace-id}` (`admin-http.md` §1.6),
//! decoded as the JS SDK decodes it and encoded as a server sends it.

use instant_core::{ApiError, ErrorKind};
use serde_json::{json, Value};

#[test]
fn decodes_type_message_hint_and_trace_id() {
    let body = json!({"type": "validation-failed", "message": "Validation failed for query",
                      "hint": {"data-type": "query", "errors": []}, "trace-id": "t-1"});
    let e = ApiError::from_response(400, body.to_string().as_bytes());
    assert_eq!(e.status, 400);
    assert_eq!(e.kind, ErrorKind::ValidationFailed);
    assert_eq!(e.message, "Validation failed for query");
    assert_eq!(e.hint, Some(json!({"data-type": "query", "errors": []})));
    assert_eq!(e.trace_id.as_deref(), Some("t-1"));
    assert_eq!(e.to_body(), body);
    assert_eq!(
        e.to_string(),
        "validation-failed (400): Validation failed for query"
    );
}

#[test]
fn every_kind_round_trips_its_wire_string() {
    let kinds = [
        ("validation-failed", ErrorKind::ValidationFailed, 400),
        ("record-not-found", ErrorKind::RecordNotFound, 400),
        ("record-expired", ErrorKind::RecordExpired, 400),
        ("record-not-unique", ErrorKind::RecordNotUnique, 400),
        (
            "record-foreign-key-invalid",
            ErrorKind::RecordForeignKeyInvalid,
            400,
        ),
        (
            "record-check-violation",
            ErrorKind::RecordCheckViolation,
            400,
        ),
        ("sql-raise", ErrorKind::SqlRaise, 400),
        ("param-missing", ErrorKind::ParamMissing, 400),
        ("param-malformed", ErrorKind::ParamMalformed, 400),
        ("permission-denied", ErrorKind::PermissionDenied, 400),
        (
            "permission-evaluation-failed",
            ErrorKind::PermissionEvaluationFailed,
            400,
        ),
        (
            "parameter-limit-exceeded",
            ErrorKind::ParameterLimitExceeded,
            400,
        ),
        ("rate-limited", ErrorKind::RateLimited, 429),
        ("timeout", ErrorKind::Timeout, 429),
        ("app-read-only", ErrorKind::AppReadOnly, 400),
        ("app-disabled", ErrorKind::AppDisabled, 400),
        ("app-creation-disabled", ErrorKind::AppCreationDisabled, 400),
        ("signups-closed", ErrorKind::SignupsClosed, 400),
        ("billing-closed", ErrorKind::BillingClosed, 400),
        ("session-missing", ErrorKind::SessionMissing, 400),
        ("member-missing", ErrorKind::MemberMissing, 400),
        ("connection-closed", ErrorKind::ConnectionClosed, 400),
        ("oauth-error", ErrorKind::OauthError, 400),
        ("unknown", ErrorKind::Unknown, 500),
        (
            "sql-exception",
            ErrorKind::Other("sql-exception".into()),
            500,
        ),
    ];
    for (wire, kind, status) in kinds {
        assert_eq!(ErrorKind::parse(wire), kind);
        assert_eq!(kind.as_str(), wire);
        assert_eq!(kind.default_status(), status, "{wire}");
        assert_eq!(serde_json::to_value(&kind).unwrap(), json!(wire));
        assert_eq!(
            serde_json::from_value::<ErrorKind>(json!(wire)).unwrap(),
            kind
        );
        assert_eq!(ApiError::new(kind.clone(), "m").status, status);
    }
    assert!(ApiError::new(ErrorKind::RateLimited, "").is_retryable());
    assert!(ApiError::new(ErrorKind::Timeout, "").is_retryable());
    assert!(!ApiError::new(ErrorKind::ValidationFailed, "").is_retryable());
}

#[test]
fn js_sdk_fallbacks() {
    // Not JSON: the raw text is the message (the 400 "Malformed JSON" body is text).
    let e = ApiError::from_response(400, b"Malformed JSON in request body.");
    assert_eq!(e.message, "Malformed JSON in request body.");
    assert_eq!(e.kind, ErrorKind::Other(String::new()));
    assert_eq!(e.hint, None);
    // No message: "API Error (<status>)".
    let e = ApiError::from_response(502, b"");
    assert_eq!(e.message, "API Error (502)");
    let e = ApiError::from_response(500, br#"{"type": "unknown"}"#);
    assert_eq!(e.message, "API Error (500)");
    assert_eq!(e.kind, ErrorKind::Unknown);
    // 404 route body has no type.
    let e = ApiError::from_response(
        404,
        br#"{"message": "Oops! We couldn't match this route."}"#,
    );
    assert_eq!(e.kind, ErrorKind::Other(String::new()));
    assert_eq!(e.message, "Oops! We couldn't match this route.");
    // `traceId` is accepted as well as `trace-id`; a null hint is no hint.
    let e = ApiError::from_response(
        400,
        br#"{"type":"x","message":"m","traceId":"abc","hint":null}"#,
    );
    assert_eq!(e.trace_id.as_deref(), Some("abc"));
    assert_eq!(e.hint, None);
    // oauth-error carries its text under `error`, both ways.
    let body = json!({"type": "oauth-error", "error": "bad code"});
    let e = ApiError::from_response(400, body.to_string().as_bytes());
    assert_eq!(e.kind, ErrorKind::OauthError);
    assert_eq!(e.message, "bad code");
    assert_eq!(e.to_body(), body);
}

#[test]
fn arbitrary_bytes_never_panic() {
    for body in [
        &b"\xff\xfe\x00"[..],
        b"[1,2]",
        b"\"str\"",
        b"null",
        b"{\"type\": 5, \"message\": [1], \"trace-id\": 7}",
        b"{",
    ] {
        let e = ApiError::from_response(418, body);
        assert_eq!(e.status, 418);
        assert!(!e.message.is_empty());
    }
}

#[test]
fn validation_helper_builds_the_server_shape() {
    let e = ApiError::validation(
        "steps",
        json!([]),
        vec![json!({"message": "Attributes are missing in your schema",
                    "hint": {"attributes": ["goals.title"]}})],
    );
    assert_eq!(e.status, 400);
    assert_eq!(
        e.message,
        "Validation failed for steps: Attributes are missing in your schema"
    );
    assert_eq!(e.hint.as_ref().unwrap()["data-type"], "steps");
    assert_eq!(
        e.hint.as_ref().unwrap()["errors"][0]["hint"]["attributes"][0],
        "goals.title"
    );
    let bare = ApiError::validation(
        "query",
        Value::Null,
        vec![json!({"expected": "map?", "in": []})],
    );
    assert_eq!(bare.message, "Validation failed for query");
    let e = ApiError::new(
        ErrorKind::RecordNotFound,
        "Record not found: app-admin-token",
    )
    .with_hint(json!({"record-type": "app-admin-token"}))
    .with_status(401);
    assert_eq!(e.status, 401);
    assert_eq!(
        ApiError::from_response(401, e.to_body().to_string().as_bytes()),
        e
    );
}

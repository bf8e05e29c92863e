//! DynamoDB Local 3.3.1 writes an empty map attribute into a stream record as `{}` instead
//! of `{"M": {}}` (its `GetItem` and `Query` answers are right). The SDK refuses the whole
//! `GetRecords` answer then ("Union did not contain a valid variant"), and every item with an
//! empty map (a user without modules, a mail without data) would stop the stream. This HTTP
//! client wraps the SDK's own and rewrites such values in `GetRecords` answers only; against
//! AWS (or an engine that answers right) it changes nothing. Pinned by a test.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct EmptyMaps {
    pub inner: SharedHttpClient,
}

impl HttpClient for EmptyMaps {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct Connector {
    inner: SharedHttpConnector,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let get_records = request
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with(".GetRecords"));
        let answer = self.inner.call(request);
        if !get_records {
            return answer;
        }
        HttpConnectorFuture::new(async move {
            let mut response = answer.await?;
            let body = response.take_body();
            let bytes = ByteStream::new(body)
                .collect()
                .await
                .map_err(|e| aws_smithy_runtime_api::client::result::ConnectorError::io(e.into()))?
                .into_bytes();
            let fixed = match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut value) => {
                    fix_records(&mut value);
                    serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec())
                }
                Err(_) => bytes.to_vec(),
            };
            *response.body_mut() = SdkBody::from(fixed);
            Ok(response)
        })
    }
}

/// Rewrites `{}` as `{"M": {}}` wherever an attribute value stands in the records' keys and
/// images.
pub fn fix_records(answer: &mut Value) {
    let Some(records) = answer.get_mut("Records").and_then(Value::as_array_mut) else {
        return;
    };
    for record in records {
        let Some(data) = record.get_mut("dynamodb") else {
            continue;
        };
        for part in ["Keys", "NewImage", "OldImage"] {
            if let Some(Value::Object(item)) = data.get_mut(part) {
                item.values_mut().for_each(fix_value);
            }
        }
    }
}

fn fix_value(value: &mut Value) {
    let Value::Object(map) = value else { return };
    if map.is_empty() {
        map.insert("M".into(), Value::Object(Default::default()));
        return;
    }
    if let Some(Value::Object(inner)) = map.get_mut("M") {
        inner.values_mut().for_each(fix_value);
    }
    if let Some(Value::Array(items)) = map.get_mut("L") {
        items.iter_mut().for_each(fix_value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_map_written_as_nothing_becomes_an_empty_map_at_any_depth() {
        let mut answer = serde_json::json!({"Records": [{"dynamodb": {
            "Keys": {"pk": {"S": "T#a"}},
            "NewImage": {
                "modules": {},
                "user": {"M": {"modules": {}, "name": {"S": "Ada"}}},
                "list": {"L": [{}, {"M": {"x": {}}}]},
                "empty_list": {"L": []}
            }
        }}]});
        fix_records(&mut answer);
        assert_eq!(
            answer["Records"][0]["dynamodb"]["NewImage"],
            serde_json::json!({
                "modules": {"M": {}},
                "user": {"M": {"modules": {"M": {}}, "name": {"S": "Ada"}}},
                "list": {"L": [{"M": {}}, {"M": {"x": {"M": {}}}}]},
                "empty_list": {"L": []}
            })
        );
    }
}

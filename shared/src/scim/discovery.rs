//! The discovery documents (RFC 7643 §5–7): what this service supports, the one resource type
//! (User) and its schemas. The licensing extension's `modules` lists the tenant's modules as
//! canonical values.

use serde_json::{Value, json};

use super::{LICENSING_SCHEMA, MAX_RESULTS, USER_SCHEMA};

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/licensing/licensing/blob/main/docs/rules.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Provisioning token",
            "description": "A tenant's provisioning token (POST /v1/scim-tokens), sent as Authorization: Bearer.",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    })
}

pub fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A user of the tenant, holding a licence seat while active (R2-R5).",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": LICENSING_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
    })
}

fn attribute(name: &str, kind: &str, extra: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": false, "required": false,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": name,
    });
    if let (Value::Object(a), Value::Object(extra)) = (&mut a, extra) {
        a.extend(extra);
    }
    a
}

pub fn user_schema(base: &str) -> Value {
    let string = |name: &str, extra: Value| attribute(name, "string", extra);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": [
            string("userName", json!({"required": true, "uniqueness": "server",
                "description": "Unique in the tenant, compared case-insensitively."})),
            attribute("name", "complex", json!({"subAttributes": [
                string("formatted", json!({})),
                string("familyName", json!({})),
                string("givenName", json!({})),
            ]})),
            string("displayName", json!({})),
            // Required: every user is mailed about its seat (R4).
            attribute("emails", "complex", json!({"multiValued": true, "required": true, "subAttributes": [
                string("value", json!({"required": true})),
                string("type", json!({"canonicalValues": ["work", "home", "other"]})),
                attribute("primary", "boolean", json!({})),
            ]})),
            attribute("active", "boolean", json!({
                "description": "Whether the user holds its seats; unassigned counts as active."})),
            string("password", json!({"mutability": "writeOnly", "returned": "never",
                "description": "Accepted and never kept: users sign in through the tenant's identity provider."})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")}
    })
}

pub fn licensing_schema(base: &str, modules: &[String]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": LICENSING_SCHEMA,
        "name": "LicensingUser",
        "description": "The module seats a user holds (R2): each module listed takes one of the module's licences, or a red seat with the 7-day grace.",
        "attributes": [
            attribute("modules", "string", json!({"multiValued": true, "caseExact": true,
                "canonicalValues": modules,
                "description": "Module ids of the tenant's subscription."})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{LICENSING_SCHEMA}")}
    })
}

/// A list of discovery documents, as `ListResponse`.
pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [super::LIST_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

//! R35's purchase requests: one item each (`R#{id}`), its document one JSON string and its
//! status an attribute of its own, so that deciding one is conditioned on its still being
//! pending.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use crate::adapters::dynamodb::items::JsonString;
use crate::adapters::dynamodb::keys::{REQUEST_PREFIX, request_sk, tenant_pk};
use crate::adapters::dynamodb::{DynamoStore, built, to_item};
use crate::domain::identity::TenantId;
use crate::domain::purchase_request::PurchaseRequest;
use crate::ports::{Page, PageRequest, PurchaseRequests, RequestWrite, StoreError};

#[derive(serde::Serialize, serde::Deserialize)]
struct RequestItem {
    pk: String,
    sk: String,
    status: String,
    request: JsonString<PurchaseRequest>,
}

impl DynamoStore {
    /// A request's put in a change: a new one where none is, a decision where it is pending.
    pub(super) fn request_write(
        &self,
        pk: &str,
        write: &RequestWrite,
    ) -> Result<TransactWriteItem, StoreError> {
        let request = &write.request;
        let item = to_item(&RequestItem {
            pk: pk.to_owned(),
            sk: request_sk(&request.request_id),
            status: request.status.name().to_owned(),
            request: JsonString(request.clone()),
        })?;
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = if write.new {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("#status = :pending")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(built)?)
            .build())
    }
}

impl PurchaseRequests for DynamoStore {
    async fn get_request(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<PurchaseRequest>, StoreError> {
        let item: Option<RequestItem> = self.get(tenant_pk(tenant), request_sk(request_id)).await?;
        Ok(item.map(|i| i.request.0))
    }

    async fn list_requests(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<PurchaseRequest>, StoreError> {
        self.list(tenant, REQUEST_PREFIX, page, false, |i: RequestItem| {
            i.request.0
        })
        .await
    }
}

//! Which field a request parameter is: the reference product's names, their aliases, and the
//! item lines. Names are matched ignoring ASCII case (`orderid`, `ItemSubtotal1` are read as
//! `OrderId`, `ItemSubTotal1`): the reference's own documentation spells some names both ways
//! (`ItemSubTotal` / `ItemSubtotal`), the cost is a length check and a byte comparison, and a
//! refusal of `orderId` as "OrderId is required" would help nobody.

/// An order-level field the parser reads. Aliases are separate variants so that a message can
/// say which one was sent; [`Known::logical`] maps an alias to its preferred name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Known {
    CampaignId,
    OrderId,
    /// Alias of `OrderId` ("Oid is still supported").
    Oid,
    EventDate,
    OrderPromoCode,
    /// Alias of `OrderPromoCode`.
    PromoCode,
    ClickId,
    CustomerId,
    CustomerStatus,
    CurrencyCode,
    /// Alias of `CurrencyCode`.
    Currency,
    EventTypeId,
    /// "Functionally identical" to `EventTypeId`.
    ActionTrackerId,
    EventTypeCode,
    OrderSubTotalPostDiscount,
    OrderDiscount,
    /// Legacy order amount (post-discount), with `Currency`.
    Amount,
}

impl Known {
    /// The field an alias stands for.
    pub(super) fn logical(self) -> Known {
        match self {
            Known::Oid => Known::OrderId,
            Known::PromoCode => Known::OrderPromoCode,
            Known::Currency => Known::CurrencyCode,
            Known::ActionTrackerId => Known::EventTypeId,
            other => other,
        }
    }

    /// The preferred (reference) name of the field.
    pub(super) fn name(self) -> &'static str {
        KNOWN
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(n, _)| n)
    }
}

const KNOWN: &[(&str, Known)] = &[
    ("CampaignId", Known::CampaignId),
    ("OrderId", Known::OrderId),
    ("Oid", Known::Oid),
    ("EventDate", Known::EventDate),
    ("OrderPromoCode", Known::OrderPromoCode),
    ("PromoCode", Known::PromoCode),
    ("ClickId", Known::ClickId),
    ("CustomerId", Known::CustomerId),
    ("CustomerStatus", Known::CustomerStatus),
    ("CurrencyCode", Known::CurrencyCode),
    ("Currency", Known::Currency),
    ("EventTypeId", Known::EventTypeId),
    ("ActionTrackerId", Known::ActionTrackerId),
    ("EventTypeCode", Known::EventTypeCode),
    (
        "OrderSubTotalPostDiscount",
        Known::OrderSubTotalPostDiscount,
    ),
    ("OrderDiscount", Known::OrderDiscount),
    ("Amount", Known::Amount),
];

/// A field of an item line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ItemField {
    Sku,
    Category,
    Name,
    Quantity,
    Price,
    SubTotal,
    PromoCode,
}

/// Item-line prefixes, each followed by the line number (`ItemSku2`). The `Item…` forms are
/// also accepted without a number, as line 1 (`ItemSubTotal`). The short forms are the legacy
/// names a client of the reference sends (`Sku1`, `Category1`, `Amount1` = the line's total,
/// `Quantity1`), only with a number (`Amount` alone is the order's legacy amount).
const ITEM_PREFIXES: &[(&str, ItemField, bool)] = &[
    ("ItemSku", ItemField::Sku, true),
    ("ItemCategory", ItemField::Category, true),
    ("ItemName", ItemField::Name, true),
    ("ItemQuantity", ItemField::Quantity, true),
    ("ItemPrice", ItemField::Price, true),
    ("ItemSubTotal", ItemField::SubTotal, true),
    ("ItemPromoCode", ItemField::PromoCode, true),
    ("Sku", ItemField::Sku, false),
    ("Category", ItemField::Category, false),
    ("Quantity", ItemField::Quantity, false),
    ("Amount", ItemField::SubTotal, false),
];

/// The line number given to an index too large for `u32` (refused like any number above the
/// cap).
pub(super) const INDEX_OVERFLOW: u32 = u32::MAX;

/// What a parameter name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Known(Known),
    /// An item field and its line number as sent (`None`: the unindexed form, line 1). The
    /// number is not checked here (0 and numbers above the cap are refused by the parser).
    Item(ItemField, Option<u32>),
    /// Anything else: kept in the payload, otherwise ignored.
    Unknown,
}

impl Key {
    /// Two keys that name the same input (an alias and its preferred name; `ItemSku` and
    /// `ItemSku1`). `Unknown` keys are compared by name by the caller.
    pub(super) fn logical(self) -> Key {
        match self {
            Key::Known(k) => Key::Known(k.logical()),
            Key::Item(f, i) => Key::Item(f, Some(i.unwrap_or(1))),
            Key::Unknown => Key::Unknown,
        }
    }
}

fn eq_ci(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Classifies a parameter name (ASCII case ignored, no trimming: ` OrderId` is unknown).
pub(super) fn classify(name: &str) -> Key {
    let b = name.as_bytes();
    // The longest known name is 25 bytes, the longest prefix 13 plus a number.
    if b.is_empty() || b.len() > 40 {
        return Key::Unknown;
    }
    // Every name read starts with one of these letters (most unknown names are out here).
    let first = b[0].to_ascii_lowercase();
    if !matches!(first, b'a' | b'c' | b'e' | b'i' | b'o' | b'p' | b'q' | b's') {
        return Key::Unknown;
    }
    let starts = |n: &str| n.as_bytes()[0].to_ascii_lowercase() == first;
    for (n, k) in KNOWN {
        if n.len() == b.len() && starts(n) && eq_ci(b, n) {
            return Key::Known(*k);
        }
    }
    for (prefix, field, unindexed) in ITEM_PREFIXES {
        let p = prefix.len();
        if b.len() < p || !starts(prefix) || !eq_ci(&b[..p], prefix) {
            continue;
        }
        let digits = &b[p..];
        if digits.is_empty() {
            if *unindexed {
                return Key::Item(*field, None);
            }
            continue;
        }
        if !digits.iter().all(u8::is_ascii_digit) {
            continue;
        }
        let mut n: u32 = 0;
        for d in digits {
            n = match n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u32::from(d - b'0')))
            {
                Some(v) => v,
                None => INDEX_OVERFLOW,
            };
            if n == INDEX_OVERFLOW {
                break;
            }
        }
        return Key::Item(*field, Some(n));
    }
    Key::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aliases_and_items() {
        let cases: &[(&str, Key)] = &[
            ("CampaignId", Key::Known(Known::CampaignId)),
            ("campaignid", Key::Known(Known::CampaignId)),
            ("Oid", Key::Known(Known::Oid)),
            ("OID", Key::Known(Known::Oid)),
            ("Amount", Key::Known(Known::Amount)),
            ("Amount1", Key::Item(ItemField::SubTotal, Some(1))),
            ("ItemSubtotal", Key::Item(ItemField::SubTotal, None)),
            ("ItemSubTotal12", Key::Item(ItemField::SubTotal, Some(12))),
            ("ItemSku0", Key::Item(ItemField::Sku, Some(0))),
            ("ItemSku007", Key::Item(ItemField::Sku, Some(7))),
            ("ItemPromoCode3", Key::Item(ItemField::PromoCode, Some(3))),
            (
                "ItemPrice99999999999",
                Key::Item(ItemField::Price, Some(INDEX_OVERFLOW)),
            ),
            ("Sku1", Key::Item(ItemField::Sku, Some(1))),
            ("Sku", Key::Unknown),
            ("Quantity", Key::Unknown),
            ("ItemSkuX", Key::Unknown),
            ("ItemSku1a", Key::Unknown),
            (" OrderId", Key::Unknown),
            ("", Key::Unknown),
            ("Numeric1", Key::Unknown),
            ("IrVersion", Key::Unknown),
            ("ItemSkü1", Key::Unknown),
        ];
        for (name, key) in cases {
            assert_eq!(classify(name), *key, "{name}");
        }
        for (n, k) in KNOWN {
            assert_eq!(classify(n), Key::Known(*k), "{n}");
            assert_eq!(classify(&n.to_ascii_lowercase()), Key::Known(*k), "{n}");
        }
        for (prefix, field, unindexed) in ITEM_PREFIXES {
            assert_eq!(
                classify(&format!("{prefix}12")),
                Key::Item(*field, Some(12)),
                "{prefix}"
            );
            if *unindexed {
                assert_eq!(classify(prefix), Key::Item(*field, None), "{prefix}");
            }
        }
        assert_eq!(Known::Oid.logical().name(), "OrderId");
        assert_eq!(Known::ActionTrackerId.logical(), Known::EventTypeId);
    }
}

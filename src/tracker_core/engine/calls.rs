//! The API calls by [`Method`], with their arguments as the host hands them over (one JSON array),
//! and the shop data read from the page (markup and JSON-LD), each product once per page view.

use super::shop::{Shop, ShopResult, Step};
use super::{Engine, Host};
use crate::prelude::*;
use crate::tracker_core::args::{self, Args, Markup};
use crate::tracker_core::boundary::ErrorCode;
use crate::tracker_core::boundary::Method;
use crate::tracker_core::event::EventError;
use crate::tracker_core::json::{self, scan};

/// What the host passes for arguments longer than any event may be.
pub const TOO_LARGE: &str = "!";
const NOT_A_PRODUCT: &str =
    "the product must be an object such as { product_id: \"sku-1\", price: 19.99 }";
const NOT_A_LIST: &str =
    "productList.viewed(list): list must be { list_id, category, products: [...] }";

impl<H: Host> Engine<H> {
    /// An API call and its arguments as a JSON array. Returns the value of calls that return
    /// one (`anonymousId`, `userId`, `sessionId`, `cart.get`, ...), as text (JSON for those
    /// of kind 4). Every method of api.json has an arm: one added there without one here does
    /// not compile. Arguments longer than
    /// [`MAX_EVENT_BYTES`](crate::tracker_core::event::MAX_EVENT_BYTES) characters come as `!`
    /// (the host does not copy them into the wasm): the call is reported and ignored.
    pub fn call(&mut self, method: Method, args_json: &str, now: u64) -> Option<String> {
        if args_json == TOO_LARGE {
            let e = EventError::TooLarge;
            self.report(e.code(), e.message());
            return None;
        }
        let a = Args::parse(args_json);
        match method {
            Method::Track => match a.object(1) {
                Some(p) => self.track(&a.string(0).unwrap_or_default(), &p, now),
                None => self.bad_object(),
            },
            Method::Page => {
                let (name, props) = if a.is_object(0) {
                    (None, a.object(0))
                } else {
                    (a.string(0), a.object(1))
                };
                match props {
                    Some(p) => self.page_view(name.as_deref(), &p, now),
                    None => self.bad_object(),
                }
            }
            Method::Identify => {
                let (user_id, traits) = if a.is_object(0) {
                    (None, a.raw(0))
                } else {
                    (a.text(0), a.raw(1))
                };
                match traits {
                    Some(t) if !t.starts_with('{') => self.bad_object(),
                    t => self.identify(user_id, t.map(str::to_string), now),
                }
            }
            Method::Alias => self.alias(a.text(0).unwrap_or_default(), a.text(1), now),
            Method::Reset => self.reset(now),
            Method::Flush => self.flush(now),
            Method::AnonymousId => return Some(self.shopper.anonymous_id.clone()),
            Method::UserId => return self.shopper.user_id.clone(),
            Method::SessionId => return Some(json::u64_text(self.shopper.session.id)),
            Method::CartGet => return Some(Shop::new(&mut self.io.store).state()),
            Method::Profile => return Some(self.shopper.profile(&self.io)),
            Method::ConsentGet => return Some(self.consent_state()),
            Method::ConsentGrant => match Self::categories_arg(a.raw(0)) {
                Ok(c) => self.grant(c, now),
                Err(()) => self.report(
                    ErrorCode::InvalidArgument,
                    "consent.grant(categories?): categories must be an array of category names",
                ),
            },
            Method::ConsentDeny | Method::ConsentRevoke => self.revoke(now),
            // The campaign itself stays in JavaScript, for the engage module.
            Method::CampaignsAdd => self.consent.popups(&mut self.io, true),
            // The driver's (init, before the engine exists) and the host's alone.
            Method::Init | Method::Ready | Method::On | Method::Off | Method::Shutdown => {}
            shop => {
                let r = self.shop_call(shop, &a);
                self.track_all(r, now);
            }
        }
        None
    }

    /// `~markup`: a click on `data-shoptrail` markup (see [`args::markup`]).
    pub fn handle_markup(&mut self, record: &str, now: u64) {
        if self.cfg.capture {
            let r = Shop::new(&mut self.io.store).markup(args::markup(record));
            self.track_all(r, now);
        }
    }

    fn bad_object(&mut self) {
        self.report(
            ErrorCode::InvalidArgument,
            EventError::NotAnObject.message(),
        );
    }

    /// Tracks what a shop call gives, or reports its error.
    fn track_all(&mut self, r: ShopResult, now: u64) {
        match r {
            Ok(events) => {
                for (name, props) in events {
                    self.track(name, &props, now);
                }
            }
            Err((code, message)) => self.report(code, &message),
        }
    }

    fn shop_call(&mut self, method: Method, a: &Args) -> ShopResult {
        let bad_object = || {
            Err((
                ErrorCode::InvalidArgument,
                EventError::NotAnObject.message().into(),
            ))
        };
        let product = |i: usize| match a.raw(i).filter(|r| r.starts_with('{')) {
            Some(r) => Ok(args::product(r)),
            None => Err((ErrorCode::InvalidArgument, NOT_A_PRODUCT.into())),
        };
        let mut shop = Shop::new(&mut self.io.store);
        let id = a.text(0).unwrap_or_default();
        match method {
            Method::CartAdd => shop.add(product(0)?, a.text(1)),
            Method::CartRemove => shop.remove(&id, a.text(1), a.text(2)),
            Method::CartUpdate => shop.update(&id, a.text(1), a.text(2)),
            Method::CartClear => shop.clear(),
            Method::CartView => shop.view(),
            Method::CheckoutStart => shop.checkout_start(&args::order(a.raw(0))),
            Method::CheckoutStep => {
                let Some(props) = a.object(1) else {
                    return bad_object();
                };
                // `completed` picks the event; it is not a property of it.
                let completed = scan::member(&props, "completed") == Some("true");
                let (kind, props) = if completed {
                    (Step::Completed, args::without(&props, "completed"))
                } else {
                    (Step::Viewed, props)
                };
                shop.checkout_step(a.text(0), &props, kind)
            }
            Method::CheckoutPayment => match a.object(0) {
                Some(p) => shop.payment(&p),
                None => bad_object(),
            },
            Method::OrderComplete => shop.order_complete(&args::order(a.raw(0))),
            Method::CouponApply | Method::CouponDeny | Method::CouponRemove => {
                let event = match method {
                    Method::CouponApply => "Coupon Applied",
                    Method::CouponDeny => "Coupon Denied",
                    _ => "Coupon Removed",
                };
                match a.object(1) {
                    Some(p) => shop.coupon(event, &id, (p.len() > 2).then_some(p.as_str())),
                    None => bad_object(),
                }
            }
            Method::ProductView => shop.product("Product Viewed", &product(0)?, None),
            Method::ProductClick => {
                shop.product("Product Clicked", &product(0)?, a.text(1).as_deref())
            }
            Method::ProductsSearched => shop.searched(&id),
            Method::ProductListViewed => {
                let list = a.raw(0).filter(|r| r.starts_with('{'));
                let items = list
                    .and_then(|l| scan::member(l, "products"))
                    .and_then(scan::array_items);
                match (list, items) {
                    (Some(l), Some(items)) => {
                        let products: Vec<_> = items.into_iter().map(args::product).collect();
                        let field = |k| scan::member(l, k).and_then(args::text);
                        shop.list_viewed(field("list_id"), field("category"), &products)
                    }
                    _ => Err((ErrorCode::InvalidArgument, NOT_A_LIST.into())),
                }
            }
            // Not a commerce call: `call` answered it.
            _ => Ok(Vec::new()),
        }
    }

    /// What the host read from the page (see [`args::scan_record`]): `data-shoptrail="view"`
    /// elements, then schema.org Product JSON-LD for products no markup already reported.
    /// Each gives Product Viewed, once per page view.
    pub fn handle_scan(&mut self, record: &str, now: u64) {
        let (markups, products) = args::scan_record(record);
        let mut found: Vec<(String, Markup)> = Vec::new();
        if self.cfg.capture {
            for m in markups {
                let id = match &m {
                    Markup::View(p) => p.product_id.clone().or_else(|| p.sku.clone()),
                    _ => None,
                };
                found.push((id.unwrap_or_default(), m));
            }
        }
        if self.cfg.json_ld {
            for p in products {
                let id = p.product_id.clone().or_else(|| p.sku.clone());
                found.push((id.unwrap_or_default(), Markup::View(p)));
            }
        }
        for (id, m) in found {
            if self.context.views.first_view_of(&id) {
                let r = Shop::new(&mut self.io.store).markup(m);
                self.track_all(r, now);
            }
        }
    }
}

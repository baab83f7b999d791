/* shoptrail's stub: calls made before the SDK has loaded wait in a queue. A file of its own
   (not an inline script) so the store runs under a Content-Security-Policy without
   'unsafe-inline'. */
/* generated:stub */
!function(w){var s=w.shoptrail=w.shoptrail||{};if(!s.q&&!s.loaded){s.q=[];"init page track identify alias reset flush ready anonymousId userId sessionId profile consent.grant consent.deny consent.revoke consent.get campaigns.add shutdown on off cart.add cart.remove cart.update cart.clear cart.view cart.get checkout.start checkout.step checkout.payment order.complete coupon.apply coupon.deny coupon.remove product.view product.click products.searched productList.viewed".split(" ").forEach(function(m){var p=m.split("."),o=p[1]?s[p[0]]=s[p[0]]||{}:s;o[p[1]||m]=function(){var a=[].slice.call(arguments);if(m=="flush"||m=="ready")return new Promise(function(r){s.q.push([m,a,r])});s.q.push([m,a])}})}}(window);
/* end generated */

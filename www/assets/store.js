/*
 * Northwind Supply Co. demo storefront.
 *
 * Plain ES2019, no framework, no build step. Catalog data, a localStorage
 * cart and the page rendering for every page of the shop.
 *
 * Analytics: shoptrail keeps its own cart and sends the Segment e-commerce
 * spec v2 events itself. The shop uses it two ways, as a real theme would:
 *   - declarative markup: the home grid's "Add to cart" buttons
 *     (data-shoptrail="add") and product links (data-shoptrail="click"),
 *     and a schema.org Product JSON-LD block on the product page, which
 *     shoptrail turns into Product Viewed;
 *   - the commerce API: productList.viewed, cart.add/update/remove/view,
 *     checkout.start/step/payment and order.complete.
 * The shop's own cart ("northwind-cart") only drives what is rendered.
 *
 * One line per product: shoptrail's cart.update/remove take a product id
 * and no variant, so the shop keeps at most one variant of a product in the
 * cart. The option picked first stays until the line is removed; adding the
 * product again adds to that line.
 *
 * This file is loaded by a plain script tag at the end of <body>: the
 * JSON-LD block is printed while the page is still being parsed, so it is
 * in the document when shoptrail reads it (at DOMContentLoaded).
 *
 * All product and user text is rendered with createElement/textContent.
 * All money math is done in integer cents.
 */
(function () {
  'use strict';

  var CART_KEY = 'northwind-cart';
  var ORDER_KEY = 'northwind-last-order';
  var CURRENCY = 'USD';
  var TAX_RATE_PERCENT = 8;
  var FREE_SHIPPING_CENTS = 7500;
  var MAX_QTY = 99;
  var FLUSH_TIMEOUT_MS = 2000;

  var SHIPPING_METHODS = [
    { id: 'standard', name: 'Standard', detail: '5–7 business days', cents: 595 },
    { id: 'express', name: 'Express', detail: '2 business days', cents: 1500 }
  ];

  var CATALOG = [
    {
      id: 'nw-001',
      name: 'Enamel Camp Mug',
      brand: 'Northwind',
      category: 'Drinkware',
      variants: ['Pine Green', 'Slate Blue', 'Speckled White'],
      cents: 2400,
      blurb: 'A 12 oz enamel-on-steel mug with a rolled rim.',
      description: 'Enamel fused onto a steel body, finished with a dark rolled rim that will not chip at the first knock against a rock. It goes from the camp stove to the kitchen table and back again, and it still looks good with a few dings.',
      details: ['12 oz / 350 ml', 'Enamel-coated steel', 'Safe on an open flame', 'Hand wash recommended']
    },
    {
      id: 'nw-002',
      name: 'Gooseneck Pour-Over Kettle',
      brand: 'Ridgeline',
      category: 'Coffee',
      variants: ['Matte Black', 'Brushed Steel'],
      cents: 6400,
      blurb: 'A 0.9 L stovetop kettle with a precise pour.',
      description: 'A slow, steady stream is the secret to a good pour-over. The narrow gooseneck spout puts the water exactly where you want it, and the walnut handle stays cool on gas, electric and induction hobs.',
      details: ['0.9 L capacity', 'Stainless steel, walnut handle', 'Works on induction', 'Built-in pour guide']
    },
    {
      id: 'nw-003',
      name: 'Waxed Canvas Tote',
      brand: 'Northwind',
      category: 'Bags',
      variants: ['Field Tan', 'Charcoal'],
      cents: 4800,
      blurb: 'A weather-ready everyday carry with leather straps.',
      description: 'Heavy 16 oz cotton canvas treated with a paraffin wax blend, so it shrugs off drizzle and gains character with every trip. Full-grain leather handles are riveted on and sized to go over a shoulder.',
      details: ['16 oz waxed cotton canvas', 'Riveted leather handles', 'Interior slip pocket', '40 × 38 × 12 cm']
    },
    {
      id: 'nw-004',
      name: 'Merino Trail Socks',
      brand: 'Alder & Co.',
      category: 'Apparel',
      variants: ['S (US 5–7)', 'M (US 8–10)', 'L (US 11–13)'],
      cents: 1999,
      blurb: 'Cushioned merino crew socks for long days out.',
      description: 'Merino wool keeps feet warm when it is cold and dry when it is not. A cushioned sole and reinforced heel and toe make these the pair you will reach for on the trail and on the sofa.',
      details: ['68% merino wool', 'Cushioned sole', 'Reinforced heel and toe', 'Machine washable']
    },
    {
      id: 'nw-005',
      name: 'Trail Notebook',
      brand: 'Fieldmark',
      category: 'Stationery',
      variants: ['Dot grid', 'Lined', 'Blank'],
      cents: 1250,
      blurb: 'A pocket notebook with water-resistant pages.',
      description: 'Ninety-six pages of water-resistant paper bound in a kraft cover, with an elastic band to keep it closed in a pack. Small enough for a back pocket, sturdy enough for a season of notes and sketches.',
      details: ['A6, 96 pages', 'Water-resistant paper', 'Elastic closure', 'Pencil included']
    },
    {
      id: 'nw-006',
      name: 'Summit Roast Coffee',
      brand: 'Northwind Roasters',
      category: 'Coffee',
      variants: ['Whole bean', 'Ground for pour-over', 'Ground for French press'],
      cents: 1700,
      blurb: 'Medium roast with notes of cocoa and cherry.',
      description: 'Our house blend of washed Colombian and Ethiopian coffees, roasted in small batches every Tuesday. Cocoa and dark cherry up front, with a clean, sweet finish that holds up in a thermos.',
      details: ['340 g / 12 oz', 'Medium roast', 'Roasted weekly', 'Cocoa, cherry, brown sugar']
    },
    {
      id: 'nw-007',
      name: 'Insulated Steel Bottle',
      brand: 'Ridgeline',
      category: 'Drinkware',
      variants: ['Lake Blue', 'Forest', 'Stone'],
      cents: 3400,
      blurb: 'Keeps coffee hot for 12 hours, water cold for 24.',
      description: 'Double-wall vacuum insulation in a 750 ml bottle that fits a car cup holder. The leak-proof cap has a carry loop, and the powder-coated finish gives a sure grip with cold hands.',
      details: ['750 ml / 25 oz', 'Double-wall vacuum insulated', 'Leak-proof loop cap', 'BPA-free']
    },
    {
      id: 'nw-008',
      name: 'Wool Camp Blanket',
      brand: 'Alder & Co.',
      category: 'Outdoor',
      variants: ['Ember Plaid'],
      cents: 8900,
      blurb: 'A warm plaid blanket with a leather carry strap.',
      description: 'Woven from recycled wool in a classic plaid, this blanket is at home by the campfire, in the back of the car or on the end of the bed. It rolls up tight and comes with a leather strap to carry it.',
      details: ['150 × 200 cm', '80% recycled wool', 'Leather carry strap', 'Dry clean or air out']
    }
  ];

  /* ------------------------------------------------------------------ */
  /* shoptrail                                                           */
  /* ------------------------------------------------------------------ */

  // Calls window.shoptrail[m](...args), where m may be a dotted name such
  // as 'cart.add', and never throws: the shop works even if shoptrail
  // failed to load or misbehaves.
  function st(m) {
    var args = [].slice.call(arguments, 1);
    try {
      var parts = String(m).split('.');
      var name = parts.pop();
      var target = window.shoptrail;
      for (var i = 0; i < parts.length && target; i++) target = target[parts[i]];
      var fn = target ? target[name] : undefined;
      var r = typeof fn === 'function' ? fn.apply(target, args) : undefined;
      if (r && typeof r.then === 'function' && typeof r.catch === 'function') r.catch(function () {});
      return r;
    } catch (e) {
      return undefined;
    }
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // Flushes shoptrail's queue, but never waits longer than `ms`.
  function flushWithin(ms) {
    var flushed;
    try {
      flushed = Promise.resolve(st('flush')).catch(function () {});
    } catch (e) {
      flushed = Promise.resolve();
    }
    return Promise.race([flushed, wait(ms)]);
  }

  /* ------------------------------------------------------------------ */
  /* Helpers                                                             */
  /* ------------------------------------------------------------------ */

  var moneyFormat = (function () {
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency: CURRENCY });
    } catch (e) {
      return null;
    }
  })();

  function formatMoney(cents) {
    var amount = cents / 100;
    return moneyFormat ? moneyFormat.format(amount) : '$' + amount.toFixed(2);
  }

  // Cents to the number sent in events: 2400 -> 24, 1999 -> 19.99.
  function toAmount(cents) {
    return Math.round(cents) / 100;
  }

  function absoluteUrl(path) {
    try {
      return new URL(path, window.location.href).href;
    } catch (e) {
      return path;
    }
  }

  function productUrl(product) {
    return 'product.html?id=' + encodeURIComponent(product.id);
  }

  function imageUrl(product) {
    return 'img/' + product.id + '.svg';
  }

  function findProduct(id) {
    for (var i = 0; i < CATALOG.length; i++) {
      if (CATALOG[i].id === id) return CATALOG[i];
    }
    return null;
  }

  function findShipping(id) {
    for (var i = 0; i < SHIPPING_METHODS.length; i++) {
      if (SHIPPING_METHODS[i].id === id) return SHIPPING_METHODS[i];
    }
    return SHIPPING_METHODS[0];
  }

  function param(name) {
    try {
      return new URLSearchParams(window.location.search).get(name);
    } catch (e) {
      return null;
    }
  }

  function randomId(prefix, length) {
    var alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
    var out = '';
    var bytes = null;
    try {
      bytes = new Uint8Array(length);
      window.crypto.getRandomValues(bytes);
    } catch (e) {
      bytes = null;
    }
    for (var i = 0; i < length; i++) {
      var n = bytes ? bytes[i] : Math.floor(Math.random() * 256);
      out += alphabet.charAt(n % alphabet.length);
    }
    return prefix + out;
  }

  function clampQty(n) {
    n = parseInt(n, 10);
    if (!isFinite(n) || n < 1) return 1;
    return n > MAX_QTY ? MAX_QTY : n;
  }

  // el('a', {href: 'x', className: 'y', dataset: {...}}, [children])
  // Children may be nodes or strings; strings become text nodes.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === 'className') node.className = value;
        else if (key === 'text') node.textContent = value;
        else if (key === 'dataset') {
          Object.keys(value).forEach(function (d) { node.dataset[d] = value[d]; });
        } else if (key === 'testid') node.setAttribute('data-testid', value);
        else if (key.slice(0, 2) === 'on' && typeof value === 'function') {
          node.addEventListener(key.slice(2), value);
        } else if (value === true) node.setAttribute(key, '');
        else node.setAttribute(key, String(value));
      });
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    if (children === null || children === undefined) return node;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function readJson(key) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function writeJson(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* storage full or disabled: the page still works for this view */
    }
  }

  /* ------------------------------------------------------------------ */
  /* Cart (localStorage "northwind-cart")                                */
  /*   { items: [{product_id, variant, quantity}] }, one line a product  */
  /* ------------------------------------------------------------------ */

  var memoryCart = null;

  // Reads the cart, dropping unknown products and merging lines of the same
  // product (carts saved by older versions of the shop could hold several
  // variants of one product).
  function loadCart() {
    var data = readJson(CART_KEY);
    var cart = { items: [] };
    if (data && typeof data === 'object') {
      if (Array.isArray(data.items)) {
        data.items.forEach(function (item) {
          var product = item && findProduct(item.product_id);
          if (!product) return;
          var index = findLine(cart, product.id);
          if (index >= 0) {
            cart.items[index].quantity = clampQty(cart.items[index].quantity + clampQty(item.quantity));
            return;
          }
          var variant = product.variants.indexOf(item.variant) >= 0 ? item.variant : product.variants[0];
          cart.items.push({ product_id: product.id, variant: variant, quantity: clampQty(item.quantity) });
        });
      }
    } else if (memoryCart) {
      cart = memoryCart;
    }
    return cart;
  }

  function saveCart(cart) {
    memoryCart = cart;
    writeJson(CART_KEY, { items: cart.items });
    renderCartCount();
  }

  function clearCart() {
    memoryCart = null;
    try {
      window.localStorage.removeItem(CART_KEY);
    } catch (e) {
      /* ignore */
    }
    renderCartCount();
  }

  function findLine(cart, productId) {
    for (var i = 0; i < cart.items.length; i++) {
      if (cart.items[i].product_id === productId) return i;
    }
    return -1;
  }

  // The variant a product has in the cart, or null when it is not in it.
  function cartVariant(productId) {
    var cart = loadCart();
    var index = findLine(cart, productId);
    return index >= 0 ? cart.items[index].variant : null;
  }

  // Adds to the product's line (keeping the line's variant) or starts one
  // with `variant`. Returns the line.
  function addToCart(product, variant, quantity) {
    var cart = loadCart();
    var index = findLine(cart, product.id);
    if (index >= 0) {
      cart.items[index].quantity = clampQty(cart.items[index].quantity + quantity);
    } else {
      cart.items.push({ product_id: product.id, variant: variant, quantity: clampQty(quantity) });
      index = cart.items.length - 1;
    }
    saveCart(cart);
    return cart.items[index];
  }

  function cartCount(cart) {
    return cart.items.reduce(function (sum, item) { return sum + item.quantity; }, 0);
  }

  function cartSubtotal(cart) {
    return cart.items.reduce(function (sum, item) {
      return sum + findProduct(item.product_id).cents * item.quantity;
    }, 0);
  }

  function shippingCents(methodId, subtotal) {
    var method = findShipping(methodId);
    if (method.id === 'standard' && subtotal >= FREE_SHIPPING_CENTS) return 0;
    return method.cents;
  }

  function taxCents(subtotal) {
    return Math.round((subtotal * TAX_RATE_PERCENT) / 100);
  }

  /* ------------------------------------------------------------------ */
  /* Product data for shoptrail                                          */
  /* ------------------------------------------------------------------ */

  // A product in Segment's field names, for the API and data-product markup.
  function productProps(product, extra) {
    var props = {
      product_id: product.id,
      sku: product.id,
      name: product.name,
      brand: product.brand,
      category: product.category,
      variant: product.variants[0],
      price: toAmount(product.cents),
      currency: CURRENCY,
      url: absoluteUrl(productUrl(product)),
      image_url: absoluteUrl(imageUrl(product))
    };
    if (extra) {
      Object.keys(extra).forEach(function (key) {
        if (extra[key] !== undefined) props[key] = extra[key];
      });
    }
    return props;
  }

  // Cents as decimal text with two places: 2400 -> "24.00", 1999 -> "19.99".
  function decimalText(cents) {
    var c = Math.round(cents);
    var rest = String(c % 100);
    return Math.floor(c / 100) + '.' + (rest.length < 2 ? '0' + rest : rest);
  }

  // schema.org Product, as search engines (and shoptrail) read it.
  function productJsonLd(product) {
    var url = absoluteUrl(productUrl(product));
    return {
      '@context': 'https://schema.org',
      '@type': 'Product',
      productID: product.id,
      sku: product.id,
      name: product.name,
      description: product.description,
      brand: { '@type': 'Brand', name: product.brand },
      category: product.category,
      image: absoluteUrl(imageUrl(product)),
      url: url,
      offers: {
        '@type': 'Offer',
        price: decimalText(product.cents),
        priceCurrency: CURRENCY,
        availability: 'https://schema.org/InStock',
        url: url
      }
    };
  }

  // Puts the product page's JSON-LD block in <head>. Called while the page
  // is being parsed (see the end of this file), never later: shoptrail
  // reads JSON-LD once, when the DOM is parsed.
  function printProductJsonLd() {
    var product = findProduct(param('id') || '');
    if (!product || document.getElementById('product-jsonld')) return;
    var script = document.createElement('script');
    script.type = 'application/ld+json';
    script.id = 'product-jsonld';
    script.textContent = JSON.stringify(productJsonLd(product));
    (document.head || document.body).appendChild(script);
  }

  /* ------------------------------------------------------------------ */
  /* Shared chrome: cart badge, toast, footer visitor id                 */
  /* ------------------------------------------------------------------ */

  function renderCartCount() {
    var count = cartCount(loadCart());
    var badges = document.querySelectorAll('[data-testid="cart-count"]');
    Array.prototype.forEach.call(badges, function (badge) {
      badge.textContent = String(count);
      badge.classList.toggle('is-empty', count === 0);
      var link = badge.closest('a');
      if (link) link.setAttribute('aria-label', 'Cart, ' + count + (count === 1 ? ' item' : ' items'));
    });
  }

  function bumpCartBadge() {
    var badge = $('[data-testid="cart-count"]');
    if (!badge) return;
    badge.classList.remove('bump');
    void badge.offsetWidth;
    badge.classList.add('bump');
  }

  var toastTimer = null;

  function showToast(product, variant, quantity) {
    var toast = $('#toast');
    if (!toast) {
      toast = el('div', { id: 'toast', className: 'toast', role: 'status', 'aria-live': 'polite' });
      document.body.appendChild(toast);
    }
    clear(toast);
    append(toast, [
      el('img', { className: 'toast-img', src: imageUrl(product), alt: '', width: 48, height: 48 }),
      el('div', { className: 'toast-text' }, [
        el('strong', { text: 'Added to your cart' }),
        el('span', { text: (quantity > 1 ? quantity + ' × ' : '') + product.name + ' · ' + variant })
      ]),
      el('a', { className: 'btn btn-small', href: 'cart.html', text: 'View cart' })
    ]);
    toast.classList.add('is-visible');
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.classList.remove('is-visible'); }, 3200);
  }

  function renderVisitorId() {
    var slot = $('[data-visitor-id]');
    if (!slot) return;
    var result;
    try {
      result = st('anonymousId');
    } catch (e) {
      result = undefined;
    }
    Promise.race([Promise.resolve(result), wait(4000)])
      .then(function (id) {
        if (typeof id === 'string' && id) {
          slot.textContent = id;
          slot.parentNode.hidden = false;
        }
      })
      .catch(function () {});
  }

  function setYear() {
    var year = $('[data-year]');
    if (year) year.textContent = String(new Date().getFullYear());
  }

  /* ------------------------------------------------------------------ */
  /* Shared building blocks                                              */
  /* ------------------------------------------------------------------ */

  function productImage(product, className, size) {
    return el('img', {
      className: className,
      src: imageUrl(product),
      alt: product.name,
      width: size,
      height: size,
      decoding: 'async'
    });
  }

  function emptyState(title, text, linkText, href) {
    return el('div', { className: 'empty-state' }, [
      el('div', { className: 'empty-icon', 'aria-hidden': 'true' }, [bagIcon()]),
      el('h2', { text: title }),
      el('p', { text: text }),
      el('a', { className: 'btn', href: href, text: linkText })
    ]);
  }

  function bagIcon() {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '40');
    svg.setAttribute('height', '40');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M6 8h12l-1 12H7L6 8zm3 0V6a3 3 0 0 1 6 0v2');
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', 'currentColor');
    path.setAttribute('stroke-width', '1.6');
    path.setAttribute('stroke-linejoin', 'round');
    svg.appendChild(path);
    return svg;
  }

  function summaryRow(label, value, opts) {
    opts = opts || {};
    return el('div', { className: 'summary-row' + (opts.total ? ' is-total' : '') }, [
      el('span', { text: label }),
      el('span', { testid: opts.testid, text: value })
    ]);
  }

  /* ------------------------------------------------------------------ */
  /* Home: product grid                                                  */
  /* ------------------------------------------------------------------ */

  function initHome() {
    var grid = $('#product-grid');
    if (!grid) return;
    clear(grid);

    CATALOG.forEach(function (product, i) {
      var position = i + 1;
      var href = productUrl(product);

      // Product Clicked comes from this markup (shoptrail's click listener);
      // the links stay plain links.
      var clickMarkup = {
        'data-shoptrail': 'click',
        'data-list': 'home',
        'data-product': JSON.stringify(productProps(product, { position: position }))
      };

      // Product Added comes from the data-shoptrail="add" markup; this
      // button's own handler only updates the shop's cart and UI.
      var addMarkup = function () {
        var variant = cartVariant(product.id) || product.variants[0];
        return JSON.stringify(productProps(product, { variant: variant, position: position }));
      };

      var addButton = el('button', {
        type: 'button',
        className: 'btn btn-block',
        testid: 'add-to-cart',
        'aria-label': 'Add ' + product.name + ' to cart',
        'data-shoptrail': 'add',
        'data-product': addMarkup()
      }, 'Add to cart');

      addButton.addEventListener('click', function () {
        // This listener runs before shoptrail's (delegated on document), so
        // the markup it reads names the variant the line really has.
        addButton.setAttribute('data-product', addMarkup());
        var line = addToCart(product, product.variants[0], 1);
        bumpCartBadge();
        showToast(product, line.variant, 1);
        addButton.textContent = 'Added ✓';
        addButton.classList.add('is-done');
        setTimeout(function () {
          addButton.textContent = 'Add to cart';
          addButton.classList.remove('is-done');
        }, 1400);
      });

      var card = el('article', {
        className: 'product-card',
        testid: 'product-card',
        'data-product-id': product.id
      }, [
        el('a', Object.assign({ className: 'card-media', href: href, tabindex: '-1', 'aria-hidden': 'true' }, clickMarkup), [
          productImage(product, 'card-img', 400)
        ]),
        el('div', { className: 'card-body' }, [
          el('p', { className: 'card-brand', text: product.brand }),
          el('h3', { className: 'card-title' }, [
            el('a', Object.assign({ href: href, text: product.name }, clickMarkup))
          ]),
          el('p', { className: 'card-blurb', text: product.blurb }),
          el('div', { className: 'card-foot' }, [
            el('span', { className: 'price', text: formatMoney(product.cents) }),
            product.variants.length > 1
              ? el('span', { className: 'card-variants', text: product.variants.length + ' options' })
              : null
          ]),
          addButton
        ])
      ]);
      grid.appendChild(card);
    });

    st('productList.viewed', {
      list_id: 'home',
      category: 'All',
      products: CATALOG.map(function (product, i) {
        return productProps(product, { position: i + 1 });
      })
    });
  }

  /* ------------------------------------------------------------------ */
  /* Product detail                                                      */
  /* ------------------------------------------------------------------ */

  function initProduct() {
    var root = $('#product-root');
    if (!root) return;
    clear(root);

    var product = findProduct(param('id') || '');
    if (!product) {
      document.title = 'Product not found · Northwind Supply Co.';
      root.appendChild(emptyState(
        'We couldn’t find that product',
        'It may have sold out or the link may be wrong.',
        'Browse all products',
        'index.html#shop'
      ));
      return;
    }

    document.title = product.name + ' · Northwind Supply Co.';
    var crumb = $('#crumb-current');
    if (crumb) crumb.textContent = product.name;

    // One line per product (see the top of this file): once the product is
    // in the cart, its option is the cart line's and is changed from the cart.
    var inCart = cartVariant(product.id);
    var variantControl;
    var variantNote = el('p', { className: 'hint variant-note', id: 'variant-note', hidden: true, text: 'This option is in your cart. To pick another, remove it from your cart first.' });
    var lockVariant = function (variant) {
      if (variantControl.tagName !== 'SELECT') return;
      variantControl.value = variant;
      variantControl.disabled = true;
      variantControl.setAttribute('aria-describedby', 'variant-note');
      variantNote.hidden = false;
    };
    if (product.variants.length > 1) {
      variantControl = el('select', { id: 'variant', name: 'variant', testid: 'variant' },
        product.variants.map(function (v) { return el('option', { value: v, text: v }); }));
      if (inCart) lockVariant(inCart);
    } else {
      variantControl = el('p', { className: 'single-variant', testid: 'variant', text: product.variants[0] });
    }

    var qtyInput = el('input', {
      id: 'quantity',
      name: 'quantity',
      type: 'number',
      inputmode: 'numeric',
      min: '1',
      max: String(MAX_QTY),
      value: '1',
      testid: 'quantity'
    });

    var selectedVariant = function () {
      return variantControl.tagName === 'SELECT' ? variantControl.value : product.variants[0];
    };

    var stepQty = function (delta) {
      qtyInput.value = String(clampQty(clampQty(qtyInput.value) + delta));
    };

    var addButton = el('button', { type: 'submit', className: 'btn btn-large', testid: 'add-to-cart' }, 'Add to cart');

    var form = el('form', { className: 'buy-form', novalidate: true }, [
      el('div', { className: 'field' }, [
        el('label', { for: 'variant', text: product.variants.length > 1 ? 'Option' : 'Edition' }),
        variantControl
      ]),
      el('div', { className: 'field' }, [
        el('label', { for: 'quantity', text: 'Quantity' }),
        el('div', { className: 'qty-stepper' }, [
          el('button', { type: 'button', className: 'qty-btn', 'aria-label': 'Decrease quantity', onclick: function () { stepQty(-1); } }, '−'),
          qtyInput,
          el('button', { type: 'button', className: 'qty-btn', 'aria-label': 'Increase quantity', onclick: function () { stepQty(1); } }, '+')
        ])
      ]),
      variantNote,
      addButton
    ]);

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var quantity = clampQty(qtyInput.value);
      qtyInput.value = String(quantity);
      var line = addToCart(product, selectedVariant(), quantity);
      lockVariant(line.variant);
      st('cart.add', productProps(product, { variant: line.variant }), quantity);
      bumpCartBadge();
      showToast(product, line.variant, quantity);
      addButton.textContent = 'Added ✓';
      addButton.classList.add('is-done');
      setTimeout(function () {
        addButton.textContent = 'Add to cart';
        addButton.classList.remove('is-done');
      }, 1400);
    });

    var shipNote = product.cents >= FREE_SHIPPING_CENTS
      ? 'Ships free with Standard shipping.'
      : 'Free Standard shipping on orders over ' + formatMoney(FREE_SHIPPING_CENTS) + '.';

    root.appendChild(el('div', { className: 'product-detail' }, [
      el('div', { className: 'detail-media' }, [
        el('img', { src: imageUrl(product), alt: product.name, width: 400, height: 400 })
      ]),
      el('div', { className: 'detail-info' }, [
        el('p', { className: 'eyebrow', text: product.brand + ' · ' + product.category }),
        el('h1', { className: 'detail-title', text: product.name }),
        el('p', { className: 'detail-price price', text: formatMoney(product.cents) }),
        el('p', { className: 'detail-description', text: product.description }),
        form,
        el('ul', { className: 'perks' }, [
          el('li', { text: shipNote }),
          el('li', { text: '30-day returns, no questions asked.' })
        ]),
        el('div', { className: 'detail-specs' }, [
          el('h2', { text: 'Details' }),
          el('ul', null, product.details.map(function (d) { return el('li', { text: d }); }))
        ])
      ])
    ]));
    // Product Viewed comes from the page's JSON-LD (printProductJsonLd).
  }

  /* ------------------------------------------------------------------ */
  /* Cart                                                                */
  /* ------------------------------------------------------------------ */

  function initCart() {
    var root = $('#cart-root');
    if (!root) return;
    renderCart(root);

    st('cart.view');
  }

  function renderCart(root) {
    clear(root);
    var cart = loadCart();

    if (!cart.items.length) {
      root.appendChild(emptyState(
        'Your cart is empty',
        'Fresh coffee, sturdy mugs and warm socks are a click away.',
        'Start shopping',
        'index.html#shop'
      ));
      return;
    }

    var list = el('ul', { className: 'cart-lines', 'aria-label': 'Items in your cart' });

    cart.items.forEach(function (item) {
      var product = findProduct(item.product_id);
      var href = productUrl(product);

      // shoptrail sends Product Added or Removed for the difference (0
      // removes the line).
      var change = function (delta) {
        var current = loadCart();
        var index = findLine(current, item.product_id);
        if (index < 0) return renderCart(root);
        var line = current.items[index];
        var quantity = line.quantity + (delta > 0 ? 1 : -1);
        if (quantity > MAX_QTY) return;
        if (quantity < 1) {
          current.items.splice(index, 1);
        } else {
          line.quantity = quantity;
        }
        saveCart(current);
        st('cart.update', item.product_id, Math.max(quantity, 0));
        renderCart(root);
        focusLineControl(root, item, delta > 0 ? 'qty-inc' : 'qty-dec');
      };

      var remove = function () {
        var current = loadCart();
        var index = findLine(current, item.product_id);
        if (index < 0) return renderCart(root);
        current.items.splice(index, 1);
        saveCart(current);
        st('cart.remove', item.product_id);
        renderCart(root);
      };

      list.appendChild(el('li', {
        className: 'cart-line',
        testid: 'cart-line',
        'data-product-id': product.id,
        'data-variant': item.variant
      }, [
        el('a', { className: 'line-media', href: href, tabindex: '-1', 'aria-hidden': 'true' }, [
          productImage(product, 'line-img', 96)
        ]),
        el('div', { className: 'line-info' }, [
          el('a', { className: 'line-name', href: href, text: product.name }),
          el('p', { className: 'line-variant', text: item.variant }),
          el('p', { className: 'line-unit', text: formatMoney(product.cents) + ' each' }),
          el('button', {
            type: 'button',
            className: 'link-btn',
            testid: 'remove-line',
            'aria-label': 'Remove ' + product.name + ' from cart',
            onclick: remove
          }, 'Remove')
        ]),
        el('div', { className: 'qty-stepper', role: 'group', 'aria-label': 'Quantity of ' + product.name }, [
          el('button', {
            type: 'button',
            className: 'qty-btn',
            testid: 'qty-dec',
            'aria-label': item.quantity > 1 ? 'Decrease quantity' : 'Remove one (removes the item)',
            onclick: function () { change(-1); }
          }, '−'),
          el('span', { className: 'qty-value', testid: 'line-quantity', 'aria-live': 'polite', text: String(item.quantity) }),
          el('button', {
            type: 'button',
            className: 'qty-btn',
            testid: 'qty-inc',
            'aria-label': 'Increase quantity',
            disabled: item.quantity >= MAX_QTY,
            onclick: function () { change(1); }
          }, '+')
        ]),
        el('p', { className: 'line-total price', testid: 'line-total', text: formatMoney(product.cents * item.quantity) })
      ]));
    });

    var subtotal = cartSubtotal(cart);
    var count = cartCount(cart);
    var remaining = FREE_SHIPPING_CENTS - subtotal;

    var summary = el('aside', { className: 'summary-card', 'aria-label': 'Order summary' }, [
      el('h2', { text: 'Order summary' }),
      summaryRow('Subtotal (' + count + (count === 1 ? ' item)' : ' items)'), formatMoney(subtotal), { testid: 'cart-subtotal' }),
      summaryRow('Shipping', remaining > 0 ? 'Calculated at checkout' : 'Free'),
      el('p', {
        className: 'summary-note',
        text: remaining > 0
          ? 'Add ' + formatMoney(remaining) + ' more for free Standard shipping.'
          : 'You’ve unlocked free Standard shipping.'
      }),
      el('a', { className: 'btn btn-large btn-block', href: 'checkout.html', testid: 'checkout' }, 'Checkout'),
      el('a', { className: 'continue-link', href: 'index.html#shop', text: '← Continue shopping' })
    ]);

    append(root, el('div', { className: 'cart-layout' }, [list, summary]));
  }

  function focusLineControl(root, item, testid) {
    var lines = root.querySelectorAll('[data-testid="cart-line"]');
    for (var i = 0; i < lines.length; i++) {
      if (lines[i].getAttribute('data-product-id') === item.product_id) {
        var btn = lines[i].querySelector('[data-testid="' + testid + '"]');
        if (btn && !btn.disabled) btn.focus();
        return;
      }
    }
  }

  /* ------------------------------------------------------------------ */
  /* Checkout                                                            */
  /* ------------------------------------------------------------------ */

  function initCheckout() {
    var root = $('#checkout-root');
    if (!root) return;
    var cart = loadCart();

    if (!cart.items.length) {
      clear(root);
      root.appendChild(emptyState(
        'Your cart is empty',
        'Add something to your cart before checking out.',
        'Start shopping',
        'index.html#shop'
      ));
      return;
    }

    var shippingForm = $('#shipping-form');
    var paymentForm = $('#payment-form');
    var stepShipping = $('#step-shipping');
    var stepPayment = $('#step-payment');
    var placeButton = $('[data-testid="place-order"]');
    var errorBox = $('#checkout-error');

    var state = { step: 1, placing: false };

    function shippingMethod() {
      var checked = $('input[name="shipping_method"]:checked', shippingForm);
      return checked ? checked.value : SHIPPING_METHODS[0].id;
    }

    function totals() {
      var current = loadCart();
      var subtotal = cartSubtotal(current);
      var shipping = shippingCents(shippingMethod(), subtotal);
      var tax = taxCents(subtotal);
      return { cart: current, subtotal: subtotal, shipping: shipping, tax: tax, total: subtotal + shipping + tax };
    }

    function renderShippingOptions() {
      var subtotal = cartSubtotal(loadCart());
      SHIPPING_METHODS.forEach(function (method) {
        var price = $('[data-ship-price="' + method.id + '"]');
        if (price) {
          var cents = shippingCents(method.id, subtotal);
          price.textContent = cents === 0 ? 'Free' : formatMoney(cents);
        }
      });
    }

    function renderSummary() {
      var t = totals();
      var box = clear($('#checkout-summary'));
      append(box, [
        el('h2', { text: 'Order summary' }),
        el('ul', { className: 'mini-lines' }, t.cart.items.map(function (item) {
          var product = findProduct(item.product_id);
          return el('li', { className: 'mini-line' }, [
            el('span', { className: 'mini-media' }, [
              productImage(product, 'mini-img', 56),
              el('span', { className: 'mini-qty', text: String(item.quantity) })
            ]),
            el('span', { className: 'mini-text' }, [
              el('strong', { text: product.name }),
              el('span', { text: item.variant })
            ]),
            el('span', { className: 'price', text: formatMoney(product.cents * item.quantity) })
          ]);
        })),
        summaryRow('Subtotal', formatMoney(t.subtotal)),
        summaryRow('Shipping (' + findShipping(shippingMethod()).name + ')', t.shipping === 0 ? 'Free' : formatMoney(t.shipping)),
        summaryRow('Estimated tax', formatMoney(t.tax)),
        summaryRow('Total', formatMoney(t.total), { total: true, testid: 'checkout-total' })
      ]);
      if (!state.placing) placeButton.textContent = 'Place order · ' + formatMoney(t.total);
    }

    function showStep(step) {
      state.step = step;
      stepShipping.classList.toggle('is-active', step === 1);
      stepShipping.classList.toggle('is-done', step > 1);
      stepPayment.classList.toggle('is-active', step === 2);
      $('#shipping-fields').hidden = step !== 1;
      $('#shipping-review').hidden = step === 1;
      $('#payment-fields').hidden = step !== 2;
      document.querySelectorAll('[data-step-indicator]').forEach(function (node) {
        var n = parseInt(node.getAttribute('data-step-indicator'), 10);
        node.classList.toggle('is-current', n === step);
        node.classList.toggle('is-complete', n < step);
        if (n === step) node.setAttribute('aria-current', 'step');
        else node.removeAttribute('aria-current');
      });
      st('checkout.step', step);
    }

    function renderShippingReview() {
      var data = new FormData(shippingForm);
      var method = findShipping(shippingMethod());
      var review = clear($('#shipping-review-body'));
      append(review, [
        el('p', null, [el('strong', { text: String(data.get('name') || '') })]),
        el('p', { text: String(data.get('email') || '') }),
        el('p', { text: String(data.get('address') || '') }),
        el('p', { text: String(data.get('city') || '') + ' ' + String(data.get('zip') || '') }),
        el('p', { className: 'muted', text: method.name + ' shipping · ' + method.detail })
      ]);
    }

    // Step 1 -> step 2
    shippingForm.addEventListener('submit', function (event) {
      event.preventDefault();
      trimFields(shippingForm);
      if (!shippingForm.reportValidity()) return;
      st('checkout.step', 1, { completed: true, shipping_method: shippingMethod() });
      renderShippingReview();
      showStep(2);
      var card = $('[data-testid="card-number"]');
      if (card) card.focus();
    });

    shippingForm.addEventListener('change', function (event) {
      if (event.target && event.target.name === 'shipping_method') {
        renderSummary();
      }
    });

    $('#edit-shipping').addEventListener('click', function () {
      showStep(1);
      var email = $('[data-testid="email"]');
      if (email) email.focus();
    });

    // Light formatting for the (fake) card fields.
    var cardInput = $('[data-testid="card-number"]');
    cardInput.addEventListener('input', function () {
      var digits = cardInput.value.replace(/\D/g, '').slice(0, 19);
      var formatted = digits.replace(/(.{4})/g, '$1 ').trim();
      if (formatted !== cardInput.value) cardInput.value = formatted;
    });
    var expInput = $('#card-exp');
    expInput.addEventListener('input', function (event) {
      if (event.inputType && event.inputType.indexOf('delete') === 0) return;
      var digits = expInput.value.replace(/\D/g, '').slice(0, 4);
      var formatted = digits.length > 2 ? digits.slice(0, 2) + ' / ' + digits.slice(2) : digits;
      if (formatted !== expInput.value) expInput.value = formatted;
    });

    // Step 2: place the order.
    paymentForm.addEventListener('submit', function (event) {
      event.preventDefault();
      if (state.placing) return;
      errorBox.hidden = true;
      trimFields(paymentForm);
      if (!paymentForm.reportValidity()) return;
      trimFields(shippingForm);
      if (!shippingForm.checkValidity()) {
        showStep(1);
        shippingForm.reportValidity();
        return;
      }
      placeOrder();
    });

    function placeOrder() {
      var t = totals();
      if (!t.cart.items.length) {
        window.location.href = 'cart.html';
        return;
      }
      state.placing = true;
      placeButton.disabled = true;
      placeButton.classList.add('is-loading');
      placeButton.textContent = 'Placing order…';

      var data = new FormData(shippingForm);
      var email = String(data.get('email') || '').trim();
      var name = String(data.get('name') || '').trim();
      var method = shippingMethod();
      var orderId = 'NW-' + Date.now().toString(36).toUpperCase().slice(-6) + '-' + randomId('', 4).toUpperCase();

      // shoptrail takes the products and revenue from its own cart and
      // computes total = revenue + shipping + tax; the shop's shipping and
      // tax are the ones shown in the summary.
      st('checkout.payment', { payment_method: 'card' });
      st('checkout.step', 2, { completed: true });
      st('identify', email, { email: email, name: name });
      st('order.complete', {
        order_id: orderId,
        affiliation: 'Northwind Supply Co. web store',
        shipping: toAmount(t.shipping),
        tax: toAmount(t.tax),
        currency: CURRENCY
      });

      var order = {
        order_id: orderId,
        placed_at: new Date().toISOString(),
        email: email,
        name: name,
        address: String(data.get('address') || '').trim(),
        city: String(data.get('city') || '').trim(),
        zip: String(data.get('zip') || '').trim(),
        shipping_method: method,
        subtotal_cents: t.subtotal,
        shipping_cents: t.shipping,
        tax_cents: t.tax,
        total_cents: t.total,
        items: t.cart.items.map(function (item) {
          return { product_id: item.product_id, variant: item.variant, quantity: item.quantity };
        })
      };

      flushWithin(FLUSH_TIMEOUT_MS).then(function () {
        writeJson(ORDER_KEY, order);
        clearCart();
        window.location.href = 'confirmation.html?order=' + encodeURIComponent(orderId);
      });
    }

    renderShippingOptions();
    renderSummary();

    st('checkout.start');
    showStep(1);
  }

  function trimFields(form) {
    Array.prototype.forEach.call(form.querySelectorAll('input[type="text"], input[type="email"]'), function (input) {
      var trimmed = input.value.trim();
      if (trimmed !== input.value) input.value = trimmed;
    });
  }

  /* ------------------------------------------------------------------ */
  /* Confirmation                                                        */
  /* ------------------------------------------------------------------ */

  function initConfirmation() {
    var root = $('#confirmation-root');
    if (!root) return;
    clear(root);

    var orderId = param('order') || '';
    var order = readJson(ORDER_KEY);
    if (!order || typeof order !== 'object' || !orderId || order.order_id !== orderId || !Array.isArray(order.items)) {
      root.appendChild(emptyState(
        'We couldn’t find that order',
        'Order details are only shown in the browser the order was placed from.',
        'Back to the shop',
        'index.html#shop'
      ));
      return;
    }

    var firstName = String(order.name || '').split(/\s+/)[0];
    var method = findShipping(order.shipping_method);

    var items = el('ul', { className: 'mini-lines' });
    order.items.forEach(function (item) {
      var product = findProduct(item.product_id);
      if (!product) return;
      items.appendChild(el('li', { className: 'mini-line', testid: 'order-line', 'data-product-id': product.id }, [
        el('span', { className: 'mini-media' }, [
          productImage(product, 'mini-img', 56),
          el('span', { className: 'mini-qty', text: String(clampQty(item.quantity)) })
        ]),
        el('span', { className: 'mini-text' }, [
          el('strong', { text: product.name }),
          el('span', { text: String(item.variant || '') })
        ]),
        el('span', { className: 'price', text: formatMoney(product.cents * clampQty(item.quantity)) })
      ]));
    });

    append(root, el('div', { className: 'confirmation' }, [
      el('div', { className: 'confirm-hero' }, [
        el('div', { className: 'check-badge', 'aria-hidden': 'true', text: '✓' }),
        el('p', { className: 'eyebrow', text: 'Order confirmed' }),
        el('h1', { text: firstName ? 'Thank you, ' + firstName + '!' : 'Thank you for your order!' }),
        el('p', { className: 'lead' }, [
          'A receipt is on its way to ',
          el('strong', { text: String(order.email || 'your inbox') }),
          '. We’ll email you again when your parcel ships.'
        ]),
        el('p', { className: 'order-number' }, [
          'Order number ',
          el('span', { className: 'order-id', testid: 'order-id', text: order.order_id })
        ])
      ]),
      el('div', { className: 'confirm-grid' }, [
        el('section', { className: 'summary-card' }, [
          el('h2', { text: 'Items' }),
          items,
          summaryRow('Subtotal', formatMoney(order.subtotal_cents)),
          summaryRow('Shipping (' + method.name + ')', order.shipping_cents === 0 ? 'Free' : formatMoney(order.shipping_cents)),
          summaryRow('Tax', formatMoney(order.tax_cents)),
          summaryRow('Total', formatMoney(order.total_cents), { total: true, testid: 'order-total' })
        ]),
        el('section', { className: 'summary-card' }, [
          el('h2', { text: 'Shipping to' }),
          el('address', { className: 'ship-address' }, [
            el('strong', { text: String(order.name || '') }),
            el('span', { text: String(order.address || '') }),
            el('span', { text: String(order.city || '') + ' ' + String(order.zip || '') })
          ]),
          el('p', { className: 'muted', text: method.name + ' shipping · ' + method.detail }),
          el('a', { className: 'btn btn-block', href: 'index.html#shop', text: 'Continue shopping' })
        ])
      ])
    ]));
  }

  /* ------------------------------------------------------------------ */
  /* Boot                                                                */
  /* ------------------------------------------------------------------ */

  function boot() {
    setYear();
    renderCartCount();
    var page = document.body.getAttribute('data-page');
    if (page === 'home') initHome();
    else if (page === 'product') initProduct();
    else if (page === 'cart') initCart();
    else if (page === 'checkout') initCheckout();
    else if (page === 'confirmation') initConfirmation();
    renderVisitorId();

    // Keep the badge (and the cart page) in sync with other tabs.
    window.addEventListener('storage', function (event) {
      if (event.key !== CART_KEY && event.key !== null) return;
      memoryCart = null;
      renderCartCount();
      var cartRoot = $('#cart-root');
      if (cartRoot && page === 'cart') renderCart(cartRoot);
    });
  }

  // The product page's JSON-LD is printed now, while the page is still being
  // parsed, so that it is in the document when shoptrail reads it.
  if (document.body && document.body.getAttribute('data-page') === 'product') printProductJsonLd();

  // Popups (shoptrail's engage module, loaded only because campaigns exist).
  // The first two fire on exit intent; at most one shows per page view, never on
  // the checkout page. A shopper with a cart gets it back with a coupon; a visitor
  // without a cart or an order gets the newsletter, as an A/B test with a
  // control group that sees nothing (Experiment Viewed is tracked for all). The
  // order confirmation page asks the Net Promoter Score question once the shopper
  // has had a few seconds to read it; a shopper who answered is not asked again.
  var signUp = {
    email: 'required', frequency: true, phone: 'optional', sms: true,
    submit: 'Sign me up', success: 'Welcome aboard! Check your inbox.'
  };
  shoptrail.campaigns.add({
    id: 'cart-recovery',
    trigger: { type: 'exit' },
    target: { stage: 'cart' },
    content: {
      headline: 'Leaving already, {{traits.first_name | "friend"}}?',
      body: 'Your cart holds {{cart.count}} items. Finish your order now and take 10% off.',
      items: 'cart',
      coupon: 'NORTHWIND10',
      cta: { label: 'Finish my order', url: 'checkout.html' },
      theme: { accent: '#1f4e3d', radius: 14 }
    }
  });
  shoptrail.campaigns.add({
    id: 'newsletter',
    trigger: { type: 'exit' },
    target: { stage: 'visitor', subscribed: false },
    control: 1,
    variants: [
      { id: 'discount', content: { headline: '10% off your first order',
        body: 'Join the Northwind list: new tools, restocks and members-only offers.', form: signUp,
        theme: { accent: '#1f4e3d' } } },
      { id: 'stories', content: { headline: 'Stories from the workshop',
        body: 'How our tools are made, twice a month. No spam, unsubscribe any time.', form: signUp,
        theme: { accent: '#1f4e3d' } } }
    ]
  });

  shoptrail.campaigns.add({
    id: 'nps-after-order',
    trigger: { type: 'time', seconds: 8 },
    target: { include: ['/confirmation.html'], stage: 'customer' },
    content: {
      headline: 'How likely are you to recommend Northwind to a friend?',
      nps: {
        comment: true, commentLabel: 'What is the main reason for your score?',
        low: 'Not likely', high: 'Very likely', submit: 'Send', success: 'Thank you! Your answer helps us improve.'
      },
      theme: { accent: '#1f4e3d' }
    }
  });

  // Exposed for debugging in the console; the shop does not rely on it.
  window.northwind = { catalog: CATALOG, loadCart: loadCart, formatMoney: formatMoney };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', boot);
  } else {
    boot();
  }
})();

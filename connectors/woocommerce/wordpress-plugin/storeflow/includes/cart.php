<?php
/**
 * Cart snapshots: after any add, quantity change or removal, one `cart_updated` event per
 * request with the whole cart and a link that restores it.
 *
 * @package Storeflow
 */

defined( 'ABSPATH' ) || exit;

/** Hooks that mark the cart changed, send once at the end of the request, and restore links. */
function storeflow_cart_hooks() {
	$settings = storeflow_settings();
	add_action( 'template_redirect', 'storeflow_restore_cart' );
	if ( ! $settings['track_carts'] ) {
		return;
	}
	$changed = function () {
		$GLOBALS['storeflow_cart_changed'] = true;
	};
	add_action( 'woocommerce_add_to_cart', $changed );
	add_action( 'woocommerce_after_cart_item_quantity_update', $changed );
	add_action( 'woocommerce_cart_item_removed', $changed );
	add_action(
		'shutdown',
		function () {
			if ( ! empty( $GLOBALS['storeflow_cart_changed'] ) && WC()->cart ) {
				storeflow_send( array( storeflow_cart_event( 'cart_updated', wp_generate_uuid4(), storeflow_visitor_id(), storeflow_now(), storeflow_cart_snapshot() ) ) );
			}
		},
		0
	);
}

/** The current cart as plain arrays for storeflow_cart_event(). */
function storeflow_cart_snapshot() {
	$items = array();
	foreach ( WC()->cart->get_cart() as $entry ) {
		$product = $entry['data'];
		$items[] = array(
			'product_id'   => $entry['product_id'],
			'variation_id' => $entry['variation_id'],
			'name'         => wp_strip_all_tags( $product->get_name() ),
			'quantity'     => $entry['quantity'],
			'price'        => wc_format_decimal( $product->get_price(), wc_get_price_decimals() ),
			'sku'          => $product->get_sku(),
		);
	}
	$settings = storeflow_settings();
	return array(
		'token'        => storeflow_cart_token(),
		'currency'     => get_woocommerce_currency(),
		'total_price'  => wc_format_decimal( WC()->cart->get_total( 'edit' ), wc_get_price_decimals() ),
		'items'        => $items,
		'recovery_url' => $items ? add_query_arg( 'storeflow_restore', storeflow_restore_token( $settings['secret'], $items ), home_url( '/' ) ) : '',
	);
}

/** One cart per WooCommerce session; the order keeps it so Storeflow can tell the cart was bought. */
function storeflow_cart_token() {
	return 'wc-' . storeflow_token( WC()->session ? WC()->session->get_customer_id() : '', 60 );
}

/** ?storeflow_restore=TOKEN from a Storeflow email: refill the cart and go to it. */
function storeflow_restore_cart() {
	if ( ! isset( $_GET['storeflow_restore'] ) || ! WC()->cart ) {
		return;
	}
	$items = storeflow_read_restore_token( storeflow_settings()['secret'], sanitize_text_field( wp_unslash( $_GET['storeflow_restore'] ) ) );
	if ( null !== $items ) {
		WC()->cart->empty_cart();
		foreach ( $items as $item ) {
			WC()->cart->add_to_cart( $item['product_id'], $item['quantity'], $item['variation_id'] );
		}
	}
	wp_safe_redirect( wc_get_cart_url() );
	exit;
}

<?php
/**
 * Storefront events and their signature, as Storeflow's POST /collect reads them.
 *
 * Pure functions on plain arrays (no WordPress calls), so tests can run them with php-cli and
 * check that PHP and Python agree on every byte that is signed.
 *
 * @package Storeflow
 */

defined( 'STOREFLOW_PURE' ) || defined( 'ABSPATH' ) || exit;

/** JSON exactly as it is signed: the same bytes go on the wire. */
function storeflow_json( $data ) {
	return json_encode( $data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE );
}

/** X-Storeflow-Signature: base64 HMAC-SHA256 of the raw body with the store's secret. */
function storeflow_signature( $secret, $body ) {
	return base64_encode( hash_hmac( 'sha256', $body, $secret, true ) );
}

/** A token Storeflow accepts for visitor and cart ids: letters, digits and ._:@- only. */
function storeflow_token( $value, $limit = 64 ) {
	$value = preg_replace( '/[^A-Za-z0-9._:@-]/', '', (string) $value );
	return substr( $value, 0, $limit );
}

/**
 * Cart lines from plain item arrays (product_id, variation_id, name, quantity, price, sku).
 * Prices stay strings: money is never a float on its way to Storeflow.
 */
function storeflow_cart_lines( array $items ) {
	$lines = array();
	foreach ( $items as $item ) {
		$line = array(
			'product_id' => (int) $item['product_id'],
			'title'      => (string) $item['name'],
			'quantity'   => (int) $item['quantity'],
			'price'      => (string) $item['price'],
		);
		if ( ! empty( $item['variation_id'] ) ) {
			$line['variant_id'] = (int) $item['variation_id'];
		}
		if ( isset( $item['sku'] ) && '' !== $item['sku'] ) {
			$line['sku'] = (string) $item['sku'];
		}
		$lines[] = $line;
	}
	return $lines;
}

/** A cart snapshot event (`cart_updated`, or `checkout_contact_info_submitted` with an email). */
function storeflow_cart_event( $type, $event_id, $visitor_id, $occurred_at, array $cart, $email = null ) {
	$event = array(
		'type'            => $type,
		'client_event_id' => storeflow_token( $event_id, 100 ),
		'visitor_id'      => storeflow_token( $visitor_id ),
		'occurred_at'     => $occurred_at,
		'cart'            => array(
			'token'       => storeflow_token( $cart['token'], 255 ),
			'currency'    => (string) $cart['currency'],
			'total_price' => (string) $cart['total_price'],
			'lines'       => storeflow_cart_lines( $cart['items'] ),
		),
	);
	if ( ! empty( $cart['recovery_url'] ) ) {
		$event['cart']['recovery_url'] = (string) $cart['recovery_url'];
	}
	if ( null !== $email && '' !== $email ) {
		$event['email'] = (string) $email;
	}
	return $event;
}

/**
 * The buyer at order time. A ticked opt-in box is sent as consent; an unticked one says
 * nothing (it does not unsubscribe anyone who subscribed elsewhere).
 */
function storeflow_identify_event( $event_id, $visitor_id, $occurred_at, $email, $customer_id, $opted_in ) {
	$event = array(
		'type'            => 'identify',
		'client_event_id' => storeflow_token( $event_id, 100 ),
		'visitor_id'      => storeflow_token( $visitor_id ),
		'occurred_at'     => $occurred_at,
		'email'           => (string) $email,
	);
	if ( $customer_id > 0 ) {
		$event['customer_id'] = (int) $customer_id;
	}
	if ( $opted_in ) {
		$event['marketing_opt_in'] = true;
	}
	return $event;
}

/** The body of one POST /collect from the store's server. */
function storeflow_batch( $store_id, array $events ) {
	return storeflow_json( array( 'store_id' => (int) $store_id, 'events' => array_values( $events ) ) );
}

/** A signed cart-restore token: the cart's lines, which only this store can have made. */
function storeflow_restore_token( $secret, array $items ) {
	$lines = array();
	foreach ( $items as $item ) {
		$lines[] = array( (int) $item['product_id'], (int) ( $item['variation_id'] ?? 0 ), (int) $item['quantity'] );
	}
	$data = rtrim( strtr( base64_encode( storeflow_json( $lines ) ), '+/', '-_' ), '=' );
	$mac  = rtrim( strtr( storeflow_signature( $secret . '|restore', $data ), '+/', '-_' ), '=' );
	return $data . '.' . $mac;
}

/** The lines a restore token holds, or null when it was not made with this secret. */
function storeflow_read_restore_token( $secret, $token ) {
	$parts = explode( '.', (string) $token );
	if ( 2 !== count( $parts ) || '' === $secret ) {
		return null;
	}
	$expected = rtrim( strtr( storeflow_signature( $secret . '|restore', $parts[0] ), '+/', '-_' ), '=' );
	if ( ! hash_equals( $expected, $parts[1] ) ) {
		return null;
	}
	$lines = json_decode( base64_decode( strtr( $parts[0], '-_', '+/' ) ), true );
	if ( ! is_array( $lines ) || count( $lines ) > 100 ) {
		return null;
	}
	$items = array();
	foreach ( $lines as $line ) {
		if ( is_array( $line ) && 3 === count( $line ) && $line[0] > 0 && $line[2] > 0 ) {
			$items[] = array( 'product_id' => (int) $line[0], 'variation_id' => (int) $line[1], 'quantity' => min( (int) $line[2], 9999 ) );
		}
	}
	return $items;
}

/** The plugin's handshake body; it is signed with the store's REST consumer secret. */
function storeflow_handshake_body( $store_url, $timestamp ) {
	return storeflow_json( array( 'store' => (string) $store_url, 'ts' => (int) $timestamp ) );
}

/**
 * The body asking Storeflow for a sign-in link for a WordPress user; it is signed with the
 * store's signing secret. The nonce makes each request usable once.
 */
function storeflow_sign_in_body( $store_id, $user_id, $email, $timestamp, $nonce ) {
	return storeflow_json(
		array(
			'store_id' => (int) $store_id,
			'user_id'  => (int) $user_id,
			'email'    => (string) $email,
			'ts'       => (int) $timestamp,
			'nonce'    => (string) $nonce,
		)
	);
}

/**
 * Where "Open Storeflow" sends the browser: Storeflow's address and the link path it answered,
 * or null for any path that is not a sign-in link (the browser only ever goes to Storeflow).
 */
function storeflow_sign_in_target( $storeflow_url, $answer ) {
	$path = is_array( $answer ) ? ( $answer['path'] ?? '' ) : '';
	if ( ! is_string( $path ) || ! preg_match( '#^/app/login/[A-Za-z0-9._-]+$#', $path ) ) {
		return null;
	}
	return rtrim( $storeflow_url, '/' ) . $path;
}

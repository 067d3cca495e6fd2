<?php
/**
 * Runs the plugin's pure payload code (includes/payload.php) without WordPress, on the input
 * JSON from stdin, and prints what it built as JSON, for tests/test_wordpress_plugin.py.
 */

define( 'STOREFLOW_PURE', true );
require __DIR__ . '/../../connectors/woocommerce/wordpress-plugin/storeflow/includes/payload.php';

$in    = json_decode( stream_get_contents( STDIN ), true );
$items = $in['items'];
$token = storeflow_restore_token( $in['secret'], $items );
$cart  = array(
	'token'        => $in['cart_token'],
	'currency'     => 'USD',
	'total_price'  => $in['total'],
	'items'        => $items,
	'recovery_url' => 'https://shop.example.com/?storeflow_restore=' . $token,
);
$body  = storeflow_batch(
	$in['store_id'],
	array(
		storeflow_cart_event( 'checkout_contact_info_submitted', 'evt-1', $in['visitor_id'], $in['at'], $cart, $in['email'] ),
		storeflow_identify_event( 'order-727', $in['visitor_id'], $in['at'], $in['email'], 25, true ),
	)
);
$handshake = storeflow_handshake_body( 'https://shop.example.com', $in['ts'] );

echo storeflow_json(
	array(
		'body'                => $body,
		'signature'           => storeflow_signature( $in['secret'], $body ),
		'restored'            => storeflow_read_restore_token( $in['secret'], $token ),
		'forged'              => storeflow_read_restore_token( 'another secret', $token ),
		'handshake'           => $handshake,
		'handshake_signature' => storeflow_signature( $in['consumer_secret'], $handshake ),
	)
);

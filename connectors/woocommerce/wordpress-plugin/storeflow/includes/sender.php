<?php
/**
 * Sending events to Storeflow without slowing the shop: fire and forget.
 *
 * @package Storeflow
 */

defined( 'ABSPATH' ) || exit;

/** The visitor Storeflow knows: storeflow.js's id when it set one, else this WooCommerce session. */
function storeflow_visitor_id() {
	$cookie = isset( $_COOKIE['storeflow_vid'] ) ? storeflow_token( wp_unslash( $_COOKIE['storeflow_vid'] ) ) : '';
	if ( '' !== $cookie ) {
		return $cookie;
	}
	return 'wc-' . storeflow_token( WC()->session ? WC()->session->get_customer_id() : wp_generate_uuid4(), 60 );
}

/** Now, in the ISO 8601 form Storeflow reads. */
function storeflow_now() {
	return gmdate( 'Y-m-d\TH:i:s\Z' );
}

/**
 * POST signed events to Storeflow's /collect. Non-blocking: the shopper never waits for us,
 * and a Storeflow outage never breaks a checkout.
 */
function storeflow_send( array $events ) {
	$settings = storeflow_settings();
	if ( ! storeflow_connected() || empty( $events ) ) {
		return;
	}
	$body = storeflow_batch( $settings['store_id'], $events );
	wp_remote_post(
		untrailingslashit( $settings['url'] ) . '/collect',
		array(
			'body'     => $body,
			'headers'  => array(
				'Content-Type'          => 'application/json',
				'X-Storeflow-Signature' => storeflow_signature( $settings['secret'], $body ),
			),
			'timeout'  => 2,
			'blocking' => false,
		)
	);
}

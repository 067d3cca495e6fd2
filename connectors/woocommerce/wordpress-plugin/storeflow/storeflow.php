<?php
/**
 * Plugin Name: Storeflow for WooCommerce
 * Description: Connects your store to Storeflow (email automation): carts, checkout emails and a marketing opt-in at checkout.
 * Version: 0.1.0
 * Requires PHP: 7.4
 * Requires Plugins: woocommerce
 * WC requires at least: 6.0
 * License: AGPL-3.0-or-later
 * Text Domain: storeflow
 *
 * @package Storeflow
 */

defined( 'ABSPATH' ) || exit;

define( 'STOREFLOW_VERSION', '0.1.0' );
define( 'STOREFLOW_OPTION', 'storeflow_settings' );

require_once __DIR__ . '/includes/payload.php';
require_once __DIR__ . '/includes/sender.php';
require_once __DIR__ . '/includes/settings.php';
require_once __DIR__ . '/includes/sign_in.php';
require_once __DIR__ . '/includes/cart.php';
require_once __DIR__ . '/includes/checkout.php';

/** The plugin's settings, with defaults for what was never saved. */
function storeflow_settings() {
	$saved = get_option( STOREFLOW_OPTION, array() );
	return array_merge(
		array(
			'url'           => '',
			'store_id'      => 0,
			'secret'        => '',
			'collect_key'   => '',
			'track_carts'   => true,
			'capture_email' => true,
			'opt_in'        => true,
			'opt_in_label'  => __( 'Email me news and offers', 'storeflow' ),
			'tracker'       => false,
		),
		is_array( $saved ) ? $saved : array()
	);
}

/** True once the plugin knows where to send events and how to sign them. */
function storeflow_connected() {
	$settings = storeflow_settings();
	return '' !== $settings['url'] && $settings['store_id'] > 0 && '' !== $settings['secret'];
}

add_action(
	'plugins_loaded',
	function () {
		if ( ! class_exists( 'WooCommerce' ) ) {
			return;
		}
		storeflow_settings_hooks();
		storeflow_sign_in_hooks();
		if ( storeflow_connected() ) {
			storeflow_cart_hooks();
			storeflow_checkout_hooks();
		}
	}
);

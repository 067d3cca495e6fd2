<?php
/**
 * Checkout: the email as it is typed (with the cart it belongs to), the marketing opt-in
 * checkbox stored as order meta, and the buyer sent to Storeflow when the order is placed.
 *
 * @package Storeflow
 */

defined( 'ABSPATH' ) || exit;

const STOREFLOW_OPT_IN_META   = 'storeflow_marketing_opt_in';
const STOREFLOW_CART_META     = 'storeflow_cart_token';
const STOREFLOW_BLOCKS_FIELD  = 'storeflow/marketing-opt-in';

/** Every checkout hook, for classic and block checkouts. */
function storeflow_checkout_hooks() {
	$settings = storeflow_settings();
	add_action( 'wp_enqueue_scripts', 'storeflow_enqueue_scripts' );
	add_action( 'wp_ajax_storeflow_checkout_email', 'storeflow_checkout_email' );
	add_action( 'wp_ajax_nopriv_storeflow_checkout_email', 'storeflow_checkout_email' );
	if ( $settings['opt_in'] ) {
		add_action( 'woocommerce_review_order_before_submit', 'storeflow_opt_in_checkbox' );
		add_action( 'woocommerce_init', 'storeflow_register_blocks_field' );
	}
	add_action( 'woocommerce_checkout_create_order', 'storeflow_classic_order_meta' );
	add_action( 'woocommerce_checkout_order_processed', 'storeflow_order_placed', 10, 3 );
	add_action( 'woocommerce_store_api_checkout_order_processed', 'storeflow_blocks_order_placed' );
}

/** The email watcher on checkout; storeflow.js on every page when the merchant enabled it. */
function storeflow_enqueue_scripts() {
	$settings = storeflow_settings();
	if ( $settings['capture_email'] && is_checkout() ) {
		wp_enqueue_script( 'storeflow-checkout', plugins_url( 'assets/checkout.js', __DIR__ ), array(), STOREFLOW_VERSION, true );
		wp_localize_script(
			'storeflow-checkout',
			'storeflowCheckout',
			array(
				'ajaxUrl' => admin_url( 'admin-ajax.php' ),
				'nonce'   => wp_create_nonce( 'storeflow_checkout_email' ),
			)
		);
	}
	if ( $settings['tracker'] && '' !== $settings['collect_key'] ) {
		wp_enqueue_script( 'storeflow-tracker', untrailingslashit( $settings['url'] ) . '/static/storeflow.js', array(), STOREFLOW_VERSION, true );
	}
}

add_filter(
	'script_loader_tag',
	function ( $tag, $handle ) {
		if ( 'storeflow-tracker' !== $handle ) {
			return $tag;
		}
		$settings = storeflow_settings();
		$data     = sprintf( ' async data-store-id="%d" data-key="%s" data-email-selector="%s"', $settings['store_id'], esc_attr( $settings['collect_key'] ), esc_attr( '#billing_email, #email' ) );
		return str_replace( ' src=', $data . ' src=', $tag );
	},
	10,
	2
);

/** admin-ajax: the email typed at checkout, sent with the cart it is for. */
function storeflow_checkout_email() {
	check_ajax_referer( 'storeflow_checkout_email', 'nonce' );
	$email = isset( $_POST['email'] ) ? sanitize_email( wp_unslash( $_POST['email'] ) ) : '';
	if ( ! is_email( $email ) || ! WC()->cart || WC()->cart->is_empty() ) {
		wp_send_json_error( null, 400 );
	}
	storeflow_send( array( storeflow_cart_event( 'checkout_contact_info_submitted', wp_generate_uuid4(), storeflow_visitor_id(), storeflow_now(), storeflow_cart_snapshot(), $email ) ) );
	wp_send_json_success();
}

/** The classic checkout's opt-in box, unticked: consent is given, never presumed. */
function storeflow_opt_in_checkbox() {
	woocommerce_form_field(
		STOREFLOW_OPT_IN_META,
		array(
			'type'  => 'checkbox',
			'class' => array( 'form-row-wide', 'storeflow-opt-in' ),
			'label' => esc_html( storeflow_settings()['opt_in_label'] ),
		),
		0
	);
}

/** The block checkout's opt-in box (Additional Checkout Fields, WooCommerce 8.9+). */
function storeflow_register_blocks_field() {
	if ( function_exists( 'woocommerce_register_additional_checkout_field' ) ) {
		woocommerce_register_additional_checkout_field(
			array(
				'id'       => STOREFLOW_BLOCKS_FIELD,
				'label'    => storeflow_settings()['opt_in_label'],
				'location' => 'order',
				'type'     => 'checkbox',
			)
		);
	}
}

/** Classic checkout: keep the box's answer and the cart token on the order. */
function storeflow_classic_order_meta( $order ) {
	// phpcs:ignore WordPress.Security.NonceVerification.Missing -- WooCommerce verified the checkout nonce.
	$opted_in = ! empty( $_POST[ STOREFLOW_OPT_IN_META ] );
	$order->update_meta_data( STOREFLOW_OPT_IN_META, $opted_in ? 'yes' : 'no' );
	$order->update_meta_data( STOREFLOW_CART_META, storeflow_cart_token() );
}

/** Classic checkout placed the order: tell Storeflow who bought, and whether they opted in. */
function storeflow_order_placed( $order_id, $posted, $order ) {
	storeflow_send_buyer( $order, 'yes' === $order->get_meta( STOREFLOW_OPT_IN_META ) );
}

/** Block checkout placed the order: the box's answer is in its additional field. */
function storeflow_blocks_order_placed( $order ) {
	$opted_in = (bool) $order->get_meta( '_wc_other/' . STOREFLOW_BLOCKS_FIELD );
	$order->update_meta_data( STOREFLOW_OPT_IN_META, $opted_in ? 'yes' : 'no' );
	$order->update_meta_data( STOREFLOW_CART_META, storeflow_cart_token() );
	$order->save();
	storeflow_send_buyer( $order, $opted_in );
}

/** One `identify` event for the order's billing email. */
function storeflow_send_buyer( $order, $opted_in ) {
	$email = $order->get_billing_email();
	if ( is_email( $email ) ) {
		storeflow_send( array( storeflow_identify_event( 'order-' . $order->get_id(), storeflow_visitor_id(), storeflow_now(), $email, $order->get_customer_id(), $opted_in ) ) );
	}
}

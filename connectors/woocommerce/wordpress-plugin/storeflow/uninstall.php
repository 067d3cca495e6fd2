<?php
/**
 * Removing the plugin removes what it stored: its settings (the signing secret among them).
 * Order meta stays: it is part of each order's history.
 *
 * @package Storeflow
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'storeflow_settings' );
delete_site_option( 'storeflow_settings' );

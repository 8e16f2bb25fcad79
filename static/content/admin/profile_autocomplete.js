'use strict';
// The preview's "Stored profile" picker: select2 (shipped with the Django admin) asking the
// scoped autocomplete view for the profiles of the site chosen in the same form.
{
    const $ = django.jQuery;

    function siteValue(element) {
        const site = document.getElementById(element.dataset.siteInput);
        return site ? site.value : '';
    }

    function init(element) {
        $(element).select2({
            allowClear: true,
            placeholder: element.dataset.placeholder || '',
            width: 'style',
            minimumInputLength: 0,
            ajax: {
                url: element.dataset.url,
                delay: 250,
                data: (params) => ({term: params.term || '', page: params.page || 1, site: siteValue(element)}),
            },
        });
        const site = document.getElementById(element.dataset.siteInput);
        if (site) {
            // A profile belongs to one site: a new site empties the picker.
            site.addEventListener('change', () => $(element).val(null).trigger('change'));
        }
    }

    $(function() {
        document.querySelectorAll('select.pz-profile-autocomplete').forEach(init);
    });
}

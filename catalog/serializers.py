from rest_framework import serializers

from catalog.models import Product


class ProductSerializer(serializers.ModelSerializer):
    # A decimal string such as "19.99", never a float.
    price = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True)
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "name", "description", "price", "currency", "image_url"]

    def get_image_url(self, product: Product) -> str:
        # Demo images ship with the shop as static files; make them absolute so that a
        # front end on another origin (S3) can load them from the API's host.
        request = self.context.get("request")
        if product.image_url.startswith("/") and request is not None:
            return request.build_absolute_uri(product.image_url)
        return product.image_url
